// Small progressive enhancements; every page works without this file.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  var skip = form.querySelector("#skip_invalid");
  if (question && (!skip || skip.checked) && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  var url = form.getAttribute("data-progress");
  if (url) {
    watchProgress(form, url);
  }
});

// While a long import runs, poll its progress and move the bar; the page reloads when done.
function watchProgress(form, url) {
  var row = form.querySelector(".progress-row");
  if (!row) {
    return;
  }
  var bar = row.querySelector("progress");
  var text = row.querySelector(".progress-text");
  var phases = { read: "读取", validated: "校验", written: "写入", writing: "写入" };
  row.hidden = false;
  var timer = window.setInterval(function () {
    var request = new XMLHttpRequest();
    request.open("GET", url);
    request.onload = function () {
      if (request.status !== 200) {
        return;
      }
      var p = JSON.parse(request.responseText);
      var phase = phases[p.phase] || p.phase || "";
      if (p.total > 0) {
        var percent = Math.round((100 * p.done) / p.total);
        bar.value = percent;
        bar.textContent = percent + "%";
        text.textContent = phase + " " + p.done + " / " + p.total + " 行";
      } else if (p.status === "running") {
        // A roster's length is known only once it is read: an indeterminate bar and a count.
        bar.removeAttribute("value");
        text.textContent = phase + " " + p.done + " 行";
      }
      // "unknown": an upload whose preview has not begun yet (the file is still on its way);
      // the next page replaces this one when the preview is done.
      if (p.status !== "running" && p.status !== "previewed" && p.status !== "unknown") {
        window.clearInterval(timer);
      }
    };
    request.send();
  }, 500);
}
