// The web chat: sends questions and button presses to /api/chat and shows the replies; asks every little
// while whether staff answered a question handed to them ({"poll": true}).
// Replies arrive in the server's safe HTML subset (escaped, only <b>, <i>, <a>), so they are inserted as HTML.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  const staff = document.getElementById("staff");
  const errorText = document.body.dataset.error;
  const askStaff = document.body.dataset.askStaff;
  const POLL_SECONDS = 20;
  const key = "tthc-session";
  let session = localStorage.getItem(key);
  if (!session || !/^[A-Za-z0-9_-]{8,64}$/.test(session)) {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    session = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem(key, session);
  }

  // Phone numbers in answers (an office's number) become links that call it.
  const PHONE = /(?:\+84|0)(?:[ .-]?\d){8,10}(?!\d)/g;

  function linkPhones(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) {
      if (!walker.currentNode.parentElement.closest("a")) nodes.push(walker.currentNode);
    }
    for (const node of nodes) {
      const text = node.textContent;
      if (!PHONE.test(text)) continue;
      PHONE.lastIndex = 0;
      const fragment = document.createDocumentFragment();
      let last = 0;
      for (const match of text.matchAll(PHONE)) {
        fragment.append(text.slice(last, match.index));
        const link = document.createElement("a");
        link.href = "tel:" + match[0].replace(/[^\d+]/g, "");
        link.textContent = match[0];
        fragment.append(link);
        last = match.index + match[0].length;
      }
      fragment.append(text.slice(last));
      node.replaceWith(fragment);
    }
  }

  function show(text, mine) {
    const div = document.createElement("div");
    div.className = "msg " + (mine ? "me" : "bot");
    if (mine) { div.textContent = text; } else { div.innerHTML = text; linkPhones(div); }
    log.appendChild(div);
    return div;
  }

  function render(messages) {
    let first = null;
    for (const message of messages) {
      const div = show(message.text, false);
      first = first || div;
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
    // The start of the new answer, not its end: a long answer is read from its title down.
    if (first) { first.scrollIntoView({ block: "start", behavior: "smooth" }); }
  }

  async function post(body) {
    const response = await fetch("api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ session_id: session }, body)),
    });
    return { ok: response.ok, data: await response.json() };
  }

  // One request at a time, in the order typed: two quick questions are answered in the order they were asked.
  let queue = Promise.resolve();
  function send(body) {
    queue = queue.then(() => sendNow(body));
    return queue;
  }

  async function sendNow(body) {
    try {
      const { ok, data } = await post(body);
      if (!ok) { show(data.detail && data.detail.message ? data.detail.message : errorText, false); return; }
      render(data.messages);
    } catch (e) {
      show(errorText, false);
    }
  }

  async function poll() {
    if (document.visibilityState !== "visible") return;
    try {
      const { ok, data } = await post({ poll: true });
      if (ok && data.messages.length) render(data.messages);
    } catch (e) { /* offline for a moment: the next poll asks again */ }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    show(text, true);
    input.value = "";
    send({ text: text });
  });
  staff.addEventListener("click", () => { show(staff.textContent, true); send({ button: askStaff }); });

  const params = new URLSearchParams(location.search);
  send({ start: document.body.dataset.start || "" }).then(poll);
  if (params.get("q")) { show(params.get("q"), true); send({ text: params.get("q") }); }
  setInterval(poll, POLL_SECONDS * 1000);
  document.addEventListener("visibilitychange", poll);
})();
