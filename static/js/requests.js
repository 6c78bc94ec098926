// Supplier request pages: ask before irreversible actions and never submit a form twice.
// Everything works without this script; it only adds the confirmation and the guard.

for (const form of document.querySelectorAll("form[data-confirm], form[data-once]")) {
  form.addEventListener("submit", (event) => {
    const question = form.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.dataset.once !== undefined) {
      if (form.dataset.submitted) {
        event.preventDefault();
        return;
      }
      form.dataset.submitted = "1";
      // Disable after the browser has collected the form data.
      setTimeout(() => {
        for (const button of form.querySelectorAll("button")) button.disabled = true;
      }, 0);
    }
  });
}
