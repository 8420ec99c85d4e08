// Streams the answer over Server-Sent Events (fetch + a small SSE reader), shows citation
// markers as their annotations arrive, offers Stop, and on failure keeps what arrived with
// a clear message and a Retry button. Without JavaScript the form posts as usual.
(function () {
  "use strict";
  const form = document.querySelector("[data-ask-form]");
  const thread = document.querySelector("[data-thread]");
  if (!form || !thread || !window.fetch || !window.TextDecoder) return;
  const askButton = form.querySelector("[data-ask-button]");
  const stopButton = form.querySelector("[data-stop-button]");
  let controller = null;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A first answer asked on the ask page: its conversation's title, share and rename
  // controls appear above the thread, their forms carrying this page's CSRF token.
  function showConversationHead(html) {
    if (!html || document.querySelector(".conv-head")) return;
    const holder = document.createElement("div");
    holder.innerHTML = html; // rendered and escaped by the server
    const head = holder.firstElementChild;
    const token = form.querySelector("input[name=csrfmiddlewaretoken]");
    head.querySelectorAll("form").forEach((f) => {
      if (token && !f.querySelector("input[name=csrfmiddlewaretoken]")) f.prepend(token.cloneNode());
    });
    const heading = document.querySelector("main h1");
    if (heading) heading.replaceWith(head); else thread.before(head);
  }

  function busy(on) {
    askButton.disabled = on;
    stopButton.hidden = !on;
  }

  function startAnswer(question) {
    const you = el("div", "msg user");
    you.append(el("p", "who", "You"), el("p", "", question));
    const answer = el("article", "msg answer streaming");
    answer.setAttribute("aria-label", "Answer");
    answer.setAttribute("aria-busy", "true");
    const body = el("div", "answer-text");
    answer.append(el("p", "who", "Answer"), body, el("p", "muted status", "Searching your knowledge bases…"));
    thread.append(you, answer);
    return { answer, body, status: answer.querySelector(".status"), text: "", markers: [] };
  }

  // 12:34, or 1:02:03 from an hour on (as apps/knowledge/mediakind.py's clock).
  function clock(seconds) {
    const whole = Math.floor(Math.max(0, seconds));
    const hours = Math.floor(whole / 3600);
    const minutes = Math.floor((whole % 3600) / 60);
    const secs = String(whole % 60).padStart(2, "0");
    return hours ? hours + ":" + String(minutes).padStart(2, "0") + ":" + secs : minutes + ":" + secs;
  }

  // Where a marker's passage is: ", page 3", " · at 12:34" for a recording.
  function where(m) {
    let text = m.page ? ", " + (m.page_kind || "page") + " " + m.page : "";
    if (typeof m.start_seconds === "number") text += " · at " + clock(m.start_seconds);
    return text;
  }

  // Text so far, with a marker after each cited position (textContent only: never HTML).
  function paint(view) {
    view.body.textContent = "";
    let cursor = 0;
    view.markers.slice().sort((a, b) => a.end - b.end).forEach((m) => {
      view.body.append(document.createTextNode(view.text.slice(cursor, m.end)));
      const mark = el("span", "cite-marker pending", String(m.number));
      mark.title = m.title + where(m);
      view.body.append(mark);
      cursor = Math.max(cursor, m.end);
    });
    view.body.append(document.createTextNode(view.text.slice(cursor)));
  }

  function fail(view, message, body) {
    view.answer.classList.remove("streaming");
    view.answer.removeAttribute("aria-busy");
    view.status.textContent = "";
    const alert = el("p", "error", message + (view.text ? " The answer above is incomplete and was not saved." : ""));
    alert.setAttribute("role", "alert");
    const retry = el("button", "", "Retry");
    retry.type = "button";
    retry.addEventListener("click", () => { view.answer.previousElementSibling.remove(); view.answer.remove(); send(body); });
    view.answer.append(alert, retry);
  }

  async function send(body) {
    const view = startAnswer(body.get("question"));
    controller = new AbortController();
    busy(true);
    try {
      const response = await fetch(form.dataset.streamUrl, {
        method: "POST",
        body: body,
        headers: { Accept: "text/event-stream", "X-CSRFToken": body.get("csrfmiddlewaretoken") },
        signal: controller.signal,
      });
      if (!response.ok || !response.body) { fail(view, "The question could not be sent (" + response.status + ").", body); return; }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let finished = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const raw = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = "message";
          let data = "";
          raw.split("\n").forEach((line) => {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          });
          const payload = data ? JSON.parse(data) : {};
          if (event === "meta") {
            view.status.textContent = payload.passages ? "Answering from " + payload.passages + " passages…" : "";
            if (payload.search_query) view.status.textContent += " (searched for “" + payload.search_query + "”)";
          }
          else if (event === "delta") { view.text += payload.text; paint(view); }
          else if (event === "citation") { view.markers.push(payload); paint(view); }
          else if (event === "error") { finished = true; fail(view, payload.message, body); }
          else if (event === "done") {
            finished = true;
            const holder = document.createElement("div");
            holder.innerHTML = payload.html; // rendered and sanitised by the server
            view.answer.replaceWith(...holder.childNodes);
            if (window.location.pathname !== payload.conversation_url) {
              window.history.replaceState(null, "", payload.conversation_url);
              showConversationHead(payload.head_html);
              if (!form.querySelector("input[name=conversation]")) {
                const hidden = document.createElement("input");
                hidden.type = "hidden"; hidden.name = "conversation";
                hidden.value = payload.conversation_url.split("/")[2];
                form.append(hidden);
              }
            }
          }
        }
      }
      if (!finished) fail(view, "The answer stream broke off.", body);
    } catch (err) {
      if (err.name === "AbortError") fail(view, "Stopped.", body);
      else fail(view, "The server could not be reached.", body);
    } finally {
      busy(false);
      controller = null;
    }
  }

  // Hovering or focusing a citation marker previews its passage next to it.
  let hideTimer = null;
  function previewFor(marker) { return document.getElementById(marker.dataset.preview || ""); }
  function showPreview(marker) {
    const pop = previewFor(marker);
    if (!pop || !pop.showPopover) return;
    clearTimeout(hideTimer);
    if (!pop.matches(":popover-open")) pop.showPopover();
    const box = marker.getBoundingClientRect();
    const width = Math.min(560, window.innerWidth * 0.92);
    pop.style.margin = "0";
    pop.style.inset = "auto";
    pop.style.left = Math.max(8, Math.min(box.left, window.innerWidth - width - 8)) + "px";
    const below = box.bottom + 6;
    pop.style.top = (below + pop.offsetHeight < window.innerHeight ? below : Math.max(8, box.top - pop.offsetHeight - 6)) + "px";
  }
  function hideSoon(marker) {
    const pop = previewFor(marker);
    if (!pop || !pop.hidePopover) return;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => {
      if (pop.matches(":popover-open") && !pop.matches(":hover") && !pop.contains(document.activeElement)) pop.hidePopover();
    }, 300);
  }
  thread.addEventListener("mouseover", (e) => { const m = e.target.closest("a.cite-marker[data-preview]"); if (m) showPreview(m); });
  thread.addEventListener("mouseout", (e) => { const m = e.target.closest("a.cite-marker[data-preview]"); if (m) hideSoon(m); });
  thread.addEventListener("focusin", (e) => { const m = e.target.closest("a.cite-marker[data-preview]"); if (m) showPreview(m); });
  thread.addEventListener("focusout", (e) => { const m = e.target.closest("a.cite-marker[data-preview]"); if (m) hideSoon(m); });

  // Feedback without leaving the page (the form posts normally without this script).
  thread.addEventListener("submit", (e) => {
    const fb = e.target.closest("form[data-feedback]");
    if (!fb) return;
    e.preventDefault();
    const data = new FormData(fb);
    if (e.submitter && e.submitter.name) data.set(e.submitter.name, e.submitter.value);
    const status = fb.querySelector("[data-feedback-status]");
    // Answers rendered into a stream carry no token of their own: use the page's.
    const token = data.get("csrfmiddlewaretoken") || form.querySelector("[name=csrfmiddlewaretoken]").value;
    fetch(fb.action, { method: "POST", body: data, headers: { Accept: "application/json", "X-CSRFToken": token } })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((reply) => {
        fb.querySelectorAll("button[name=rating]").forEach((b) => b.setAttribute("aria-pressed", String(Number(b.value) === reply.rating)));
        status.textContent = "Thanks, saved.";
      })
      .catch(() => { status.textContent = "Could not save the feedback; try again."; });
  });

  form.addEventListener("submit", (e) => {
    const body = new FormData(form);
    if (!String(body.get("question") || "").trim()) return;
    e.preventDefault();
    form.querySelector("textarea").value = "";
    send(body);
  });
  stopButton.addEventListener("click", () => { if (controller) controller.abort(); });
})();
