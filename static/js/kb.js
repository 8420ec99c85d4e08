// Staff upload page: drag and drop, one request per file with its own progress bar,
// then live indexing state for every document (polled, no reload needed).
(function () {
  "use strict";
  const form = document.querySelector("[data-upload-form]");
  if (!form) return;
  const zone = form.querySelector("[data-dropzone]");
  const picker = form.querySelector("input[type=file]");
  const list = form.querySelector("[data-upload-items]");
  const statusUrl = form.dataset.statusUrl;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const tracked = new Map(); // document id -> list item

  function item(name) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Progress of " + name);
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = "Uploading…";
    li.append(label, bar, state);
    list.append(li);
    return li;
  }

  function show(li, doc, error) {
    const bar = li.querySelector("progress");
    const state = li.querySelector(".state");
    if (error) {
      state.textContent = error;
      state.className = "state failed";
      bar.value = 100;
      return;
    }
    bar.value = doc.percent;
    state.className = "state " + doc.status;
    state.textContent = doc.status_label + (doc.stage ? " · " + doc.stage : "") +
      (doc.note ? " · " + doc.note : "") + (doc.error ? " — " + doc.error : "") + (doc.status === "ready" ? " (" + doc.chunks + " passages)" : "");
  }

  function send(body, name) {
    const li = item(name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) li.querySelector("progress").value = Math.round(50 * e.loaded / e.total); };
    xhr.onload = () => {
      let items = [];
      try { items = JSON.parse(xhr.responseText).items; } catch (err) { show(li, null, "Upload failed (" + xhr.status + ")"); return; }
      items.forEach((entry, i) => {
        const row = i === 0 ? li : item(entry.name);
        row.querySelector(".name").textContent = entry.name;
        if (entry.error) { show(row, null, entry.error); return; }
        tracked.set(entry.document.id, row);
        show(row, entry.document, "");
      });
      poll();
    };
    xhr.onerror = () => show(li, null, "The upload could not reach the server.");
    xhr.send(body);
  }

  function uploadFiles(files) {
    Array.from(files).forEach((file) => {
      const body = new FormData();
      body.append("files", file);
      send(body, file.name);
    });
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    uploadFiles(picker.files);
    const urls = form.querySelector("textarea[name=urls]");
    urls.value.split("\n").map((u) => u.trim()).filter(Boolean).forEach((url) => {
      const body = new FormData();
      body.append("urls", url);
      send(body, url);
    });
    urls.value = "";
    picker.value = "";
  });
  ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.remove("over"); }));
  zone.addEventListener("drop", (e) => uploadFiles(e.dataTransfer.files));
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); picker.click(); } });

  let timer = null;
  function poll() {
    if (timer) return;
    timer = setTimeout(async () => {
      timer = null;
      const response = await fetch(statusUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const docs = (await response.json()).documents;
      let busy = false;
      docs.forEach((doc) => {
        const li = tracked.get(doc.id);
        if (li) show(li, doc, "");
        const row = document.querySelector('[data-document="' + doc.id + '"]');
        if (row) {
          row.querySelector("[data-state]").textContent = doc.status_label +
            (doc.stage ? " · " + doc.stage : "") + (doc.note ? " · " + doc.note : "");
          row.querySelector("[data-state]").className = "state " + doc.status;
          row.querySelector("[data-progress]").value = doc.percent;
          row.querySelector("[data-error]").textContent = doc.error;
          row.querySelector("[data-chunks]").textContent = doc.chunks;
        }
        if (doc.status === "queued" || doc.status === "processing") busy = true;
      });
      if (busy) poll();
    }, 1000);
  }
  poll();
})();
