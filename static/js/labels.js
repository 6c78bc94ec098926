// Bin labels. On the labels page: keep the count, the preview of the first label and the
// download links in step with the form as it changes (the form's Update button does the
// same without JavaScript). On the print view: the Print button opens the Print dialog.

for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}

const form = document.querySelector("form[data-labels-form]");
if (form) {
  const $ = (sel) => document.querySelector(sel);
  const result = $("[data-result]");
  const error = $("[data-error]");
  let timer = 0;
  let latest = 0;

  const query = () => {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) {
      if (typeof value === "string" && value.trim() !== "") params.append(key, value.trim());
    }
    return params.toString();
  };

  const link = (href, text) => {
    const a = document.createElement("a");
    a.href = href;
    a.download = "";
    a.textContent = text;
    return a;
  };

  // The download and print buttons only ever hold the selection the panel shows: while a
  // change is on its way, or when the selection has an error, they have no address at all
  // (a link without href cannot be followed) and say they are unavailable.
  const actions = [...result.querySelectorAll("a[data-link]")];
  let shown = result.hidden ? null : query(); // the selection the panel and buttons are for
  const hold = () => {
    shown = null;
    result.dataset.stale = "true";
    for (const a of actions) {
      a.removeAttribute("href");
      a.setAttribute("aria-disabled", "true");
    }
  };

  const show = (data, qs) => {
    shown = qs;
    error.hidden = true;
    result.hidden = false;
    result.dataset.stale = "false";
    $("[data-summary]").textContent = data.summary;
    const notice = $("[data-notice]");
    notice.textContent = data.notice;
    notice.hidden = !data.notice;
    for (const a of actions) {
      const href = data.urls[a.dataset.link];
      a.hidden = !href;
      if (href) {
        a.href = href;
        a.removeAttribute("aria-disabled");
      }
    }
    const img = $("img[data-preview]");
    if (img.getAttribute("src") !== data.first.preview_url) img.src = data.first.preview_url;
    img.alt = `Preview of the first label: bin ${data.first.code}`;
    $("[data-first-code]").textContent = data.first.code;
    $("[data-bin-count]").textContent = String(data.bins);
    const list = $("[data-bin-list]");
    list.replaceChildren(...data.list.map((b) => {
      const li = document.createElement("li");
      const code = document.createElement("strong");
      code.textContent = b.code;
      li.append(code, ` ${b.item} · ${b.zone} · `, link(b.png, "PNG"), " · ", link(b.svg, "SVG"));
      return li;
    }));
    $("[data-more]").hidden = !data.more;
    $("[data-more-count]").textContent = String(data.more);
  };

  const fail = (message) => {
    hold();
    result.hidden = true;
    error.textContent = message;
    error.hidden = false;
  };

  const refresh = async (submitted = false) => {
    const qs = query();
    const mine = ++latest;
    let resp;
    let body;
    try {
      resp = await fetch(`${form.dataset.summaryUrl}?${qs}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      body = await resp.json();
    } catch {
      // Server unreachable or session expired: keep what is shown; a click on Update
      // falls back to loading the page the ordinary way (which leads to the login page).
      if (submitted) form.submit();
      return;
    }
    if (mine !== latest) return; // a newer change is on its way
    history.replaceState(null, "", `${form.action}?${qs}`);
    if (resp.ok) show(body, qs);
    else fail(body?.error?.message ?? "These labels cannot be made.");
  };

  const later = () => {
    clearTimeout(timer);
    // A change event that changed nothing (a field left after typing) keeps the buttons.
    if (query() === shown) return;
    hold();
    timer = setTimeout(() => refresh(), 300);
  };
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    hold();
    clearTimeout(timer);
    refresh(true);
  });
}
