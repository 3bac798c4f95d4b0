// The web chat: sends questions and button presses to /api/chat and shows the replies.
// Replies arrive in the server's safe HTML subset (escaped, only <b>, <i>, <a>), so they are inserted as HTML.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  const errorText = document.body.dataset.error;
  const key = "tthc-session";
  let session = localStorage.getItem(key);
  if (!session || !/^[A-Za-z0-9_-]{8,64}$/.test(session)) {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    session = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem(key, session);
  }

  function show(text, mine) {
    const div = document.createElement("div");
    div.className = "msg " + (mine ? "me" : "bot");
    if (mine) { div.textContent = text; } else { div.innerHTML = text; }
    log.appendChild(div);
    return div;
  }

  function render(messages) {
    for (const message of messages) {
      const div = show(message.text, false);
      if (message.buttons && message.buttons.length) {
        const row = document.createElement("div");
        row.className = "buttons";
        for (const button of message.buttons) {
          const b = document.createElement("button");
          b.type = "button";
          b.textContent = button.label;
          b.addEventListener("click", () => { show(button.label, true); send({ button: button.data }); });
          row.appendChild(b);
        }
        div.appendChild(row);
      }
    }
    window.scrollTo(0, document.body.scrollHeight);
  }

  async function send(body) {
    try {
      const response = await fetch("api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.assign({ session_id: session }, body)),
      });
      const data = await response.json();
      if (!response.ok) { show(data.detail && data.detail.message ? data.detail.message : errorText, false); return; }
      render(data.messages);
    } catch (e) {
      show(errorText, false);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    show(text, true);
    input.value = "";
    send({ text: text });
  });

  const params = new URLSearchParams(location.search);
  send({ start: document.body.dataset.start || "" });
  if (params.get("q")) { show(params.get("q"), true); send({ text: params.get("q") }); }
})();
