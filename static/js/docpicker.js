// The ask form's document picker: type part of a title, pick documents from the readable
// ones the server suggests; each becomes a chip (a hidden "document" input) with a remove
// button. Without JavaScript the picker stays hidden and the viewer's "Ask about this
// document" link still narrows the question.
(function () {
  "use strict";
  const picker = document.querySelector("[data-doc-picker]");
  const chips = document.querySelector("[data-narrowed]");
  if (!picker || !chips || !window.fetch) return;
  const input = picker.querySelector("[data-doc-search]");
  const list = picker.querySelector("[data-doc-suggestions]");
  const clear = chips.querySelector("[data-clear-documents]");
  const MAX = 50;
  let timer = null;
  let asked = 0;
  picker.hidden = false;

  function chosen() {
    return Array.from(chips.querySelectorAll("input[name=document]")).map((i) => i.value);
  }

  function refresh() {
    chips.hidden = chosen().length === 0;
  }

  function removeButton(chip, title) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link chip-remove";
    button.textContent = "×";
    button.setAttribute("aria-label", "Remove " + title);
    button.addEventListener("click", () => { chip.remove(); refresh(); input.focus(); });
    chip.append(button);
  }

  function addChip(doc) {
    if (chosen().includes(String(doc.id)) || chosen().length >= MAX) return;
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.dataset.chip = "";
    const hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "document";
    hidden.value = String(doc.id);
    const name = document.createElement("span");
    name.textContent = doc.title;
    chip.append(hidden, name);
    removeButton(chip, doc.title);
    chips.insertBefore(chip, clear);
    refresh();
  }

  chips.querySelectorAll("[data-chip]").forEach((chip) => {
    removeButton(chip, chip.textContent.trim());
  });
  if (clear) {
    clear.addEventListener("click", (event) => {
      event.preventDefault();
      chips.querySelectorAll("[data-chip]").forEach((chip) => chip.remove());
      refresh();
    });
  }

  function show(documents) {
    list.textContent = "";
    documents.forEach((doc) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.dataset.documentId = String(doc.id);
      button.textContent = doc.title;
      const where = document.createElement("span");
      where.className = "muted";
      where.textContent = " · " + doc.knowledge_base;
      button.addEventListener("click", () => { addChip(doc); list.textContent = ""; input.value = ""; input.focus(); });
      item.append(button, where);
      list.append(item);
    });
    if (!documents.length && input.value.trim()) {
      const none = document.createElement("li");
      none.className = "muted";
      none.textContent = "No readable document has that in its title.";
      list.append(none);
    }
  }

  async function suggest() {
    const query = input.value.trim();
    const mine = ++asked;
    if (!query) { list.textContent = ""; return; }
    try {
      const response = await fetch(picker.dataset.url + "?q=" + encodeURIComponent(query), {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!response.ok) return;
      const body = await response.json();
      if (mine === asked) show(body.documents || []);
    } catch (error) {
      // A lost connection leaves the list as it was; typing again retries.
    }
  }

  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(suggest, 150); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {  // Enter picks the first suggestion instead of asking
      event.preventDefault();
      const first = list.querySelector("button");
      if (first) first.click();
    }
  });
})();
