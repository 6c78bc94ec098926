// Forms that ask before an irreversible action (data-confirm="the question") and forms
// never submitted twice (data-once): supplier requests, suppliers, device tokens.
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
