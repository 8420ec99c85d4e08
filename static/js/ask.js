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

  // Text so far, with a marker after each cited position (textContent only: never HTML).
  function paint(view) {
    view.body.textContent = "";
    let cursor = 0;
    view.markers.slice().sort((a, b) => a.end - b.end).forEach((m) => {
      view.body.append(document.createTextNode(view.text.slice(cursor, m.end)));
      const mark = el("span", "cite-marker pending", String(m.number));
      mark.title = m.title + (m.page ? ", page " + m.page : "");
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
          if (event === "meta") view.status.textContent = payload.passages ? "Answering from " + payload.passages + " passages…" : "";
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

  form.addEventListener("submit", (e) => {
    const body = new FormData(form);
    if (!String(body.get("question") || "").trim()) return;
    e.preventDefault();
    form.querySelector("textarea").value = "";
    send(body);
  });
  stopButton.addEventListener("click", () => { if (controller) controller.abort(); });
})();
