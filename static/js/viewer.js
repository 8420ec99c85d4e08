// The document viewer: scroll a PDF page to its marked lines, or highlight the cited passage (between its two anchors) as one span
// and scroll to it. The passage comes from ?passage= (data-passage) or the #chunk-N hash.
(function () {
  "use strict";
  const box = document.querySelector("[data-pdf-marks] rect");
  if (box) box.scrollIntoView({ block: "center" }); // a PDF page: its first marked line
  const root = document.querySelector("[data-viewer-text]");
  if (!root) return;

  function passageId() {
    const fromHash = /^#chunk-(\d+)$/.exec(window.location.hash);
    return fromHash ? fromHash[1] : root.dataset.passage || "";
  }

  function clear() {
    root.querySelectorAll("mark.cited").forEach((mark) => mark.replaceWith(...mark.childNodes));
    root.querySelectorAll(".cited-block").forEach((el) => el.classList.remove("cited-block"));
  }

  function highlight(id) {
    const start = document.getElementById("chunk-" + id);
    if (!start || !root.contains(start)) return null;
    const end = root.querySelector('[data-passage-end="' + id + '"]');
    const range = document.createRange();
    range.setStartAfter(start);
    if (end) range.setEndBefore(end);
    else range.setEndAfter(root.lastChild);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (node.nodeValue.trim() && range.intersectsNode(node)) nodes.push(node);
    }
    const marks = nodes.map((node) => {
      const mark = document.createElement("mark");
      mark.className = "cited";
      node.parentNode.insertBefore(mark, node);
      mark.appendChild(node);
      const block = mark.closest("p, li, h1, h2, h3, h4, h5, h6, pre, td, th, blockquote");
      if (block) block.classList.add("cited-block");
      return mark;
    });
    if (marks.length) {
      marks[0].id = "cited-start";
      marks[0].setAttribute("tabindex", "-1");
    }
    return marks[0] || start;
  }

  function show() {
    clear();
    const id = passageId();
    if (!id) return;
    const first = highlight(id);
    if (first) {
      first.scrollIntoView({ block: "center" });
      if (first.focus) first.focus({ preventScroll: true });
    }
  }

  window.addEventListener("hashchange", show);
  show();
})();
