// Results as you type (debounced); the form works without this script too.
(function () {
  "use strict";
  const form = document.querySelector("[data-search-form]");
  const results = document.querySelector("[data-search-results]");
  if (!form || !results || !window.fetch) return;
  let timer = null;
  let controller = null;
  function update() {
    const params = new URLSearchParams(new FormData(form));
    window.history.replaceState(null, "", form.action + "?" + params.toString());
    params.set("partial", "1");
    if (controller) controller.abort();
    controller = new AbortController();
    fetch(form.action + "?" + params.toString(), { signal: controller.signal })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => { results.innerHTML = html; }) // server-rendered, escaped fragment
      .catch((err) => { if (err.name !== "AbortError") results.textContent = "Search failed; try again."; });
  }
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(update, 250); });
  form.addEventListener("change", update);
  form.addEventListener("submit", (e) => { e.preventDefault(); clearTimeout(timer); update(); });
})();
