// A recording in the viewer: the player starts at the cited second (data-start), the transcript line being said is
// marked and kept in view as it plays, and a line's time plays from there. Without script the player and the
// transcript still work, only apart.
(function () {
  "use strict";
  const player = document.querySelector("[data-player]");
  const lines = Array.from(document.querySelectorAll("[data-transcript] li"));
  const starts = lines.map((li) => parseFloat(li.dataset.start));
  const ends = lines.map((li) => parseFloat(li.dataset.end));
  let playing = null;

  function lineAt(time) {
    // The last line that starts at or before ``time`` (binary search), unless it ended over 2 s before.
    let low = 0, high = starts.length - 1, found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (starts[mid] <= time) { found = mid; low = mid + 1; } else high = mid - 1;
    }
    return found >= 0 && time < ends[found] + 2 ? lines[found] : null; // a pause clears it after 2 s
  }

  function follow() {
    const line = lineAt(player.currentTime);
    if (line === playing) return;
    if (playing) { playing.classList.remove("playing"); playing.removeAttribute("aria-current"); }
    playing = line;
    if (line) {
      line.classList.add("playing");
      line.setAttribute("aria-current", "true");
      if (!player.paused) line.scrollIntoView({ block: "nearest" });
    }
  }

  function seek(seconds, play) {
    if (!player || !isFinite(seconds)) return;
    player.currentTime = seconds;
    follow();
    if (play) player.play().catch(() => {});
  }

  function passageStart() {
    // #chunk-N (a link to another passage of this recording): the line that holds its anchor.
    const match = /^#chunk-(\d+)$/.exec(window.location.hash);
    const anchor = match && document.getElementById("chunk-" + match[1]);
    const line = anchor && anchor.closest("li");
    return line ? parseFloat(line.dataset.start) : NaN;
  }

  const cited = document.querySelector("[data-transcript] li.cited-line");
  if (cited) cited.scrollIntoView({ block: "center" });
  document.querySelectorAll("[data-seek]").forEach((button) => {
    button.addEventListener("click", () => seek(parseFloat(button.dataset.seek), true));
  });
  if (!player) return;
  const fromHash = passageStart();
  const start = isFinite(fromHash) ? fromHash : parseFloat(player.dataset.start);
  player.addEventListener("loadedmetadata", () => { if (isFinite(start)) seek(start, false); }, { once: true });
  if (player.readyState >= 1 && isFinite(start)) seek(start, false);
  player.addEventListener("timeupdate", follow);
  player.addEventListener("seeked", follow);
  player.addEventListener("error", () => {
    const note = document.querySelector("[data-player-error]");
    if (note) note.hidden = false;
  });
  window.addEventListener("hashchange", () => seek(passageStart(), false));
})();
