// What a chat message shows on the panel's pages (the agent's cards, the supervisors' watch):
// a file as a link (an image also as a thumbnail), served by /api/chat/attachments/<key> to
// the chat's agents and to staff only; a person's words through the markdown subset
// (chat-markdown.js: DOM nodes, never HTML); anything else as plain text.
"use strict";

window.chatBody = (m) => {
  const a = m.attachment;
  if (a) {
    const url = `/api/chat/attachments/${encodeURIComponent(a.key)}`;
    const box = cc.el("span", null, { class: "chat-attachment", "data-key": a.key });
    if (a.kind === "image") {
      const view = cc.el("a", null, { href: url, target: "_blank", rel: "noopener" });
      view.append(cc.el("img", null, { src: url, alt: a.filename, class: "chat-thumb" }));
      box.append(view);
    }
    const size = a.size >= 1048576 ? `${(a.size / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(a.size / 1024))} KB`;
    box.append(cc.el("a", `📎 ${a.filename} (${size})`, { href: url, download: a.filename, class: "chat-file" }));
    return box;
  }
  if (["visitor", "agent", "note"].includes(m.from)) return ccChatMarkdown.render(m.text);
  return document.createTextNode(m.text);
};
