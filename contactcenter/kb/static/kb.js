// The knowledge base's editing page (supervisors and admins): find articles, write markdown
// beside the preview the server renders with the help center's own renderer and sanitizer,
// move an article between states, translate it, compare and restore its versions. Every value
// is shown as text; only the preview's HTML, which the server sanitized, goes in as markup.
// Images and attachments are uploaded as raw bytes and referred to from the markdown. A panel
// keeps the category tree: add, rename, move under another, delete an empty one.
"use strict";

const STATES = ["draft", "internal", "published", "archived"];
let locales = [];
let categories = [];
let current = null;       // the open article (as the API answers it), or null for a new one
let translationOf = null; // the article a new one translates
let previewTimer = null;
let previewSeq = 0;

function fill(select, values, first) {
  select.textContent = "";
  if (first) select.append(first);
  for (const [value, label] of values) select.append(cc.el("option", label, { value }));
}

function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }

async function loadList() {
  const q = document.getElementById("q").value.trim();
  const params = new URLSearchParams({ limit: "200" });
  const locale = document.getElementById("f-locale").value;
  const state = document.getElementById("f-state").value;
  if (q) { params.set("q", q); params.set("locale", locale || locales[0]); }
  else if (locale) params.set("locale", locale);
  if (state) params.set("state", state);
  try {
    const list = await cc.api("GET", `/api/kb/articles?${params}`);
    const body = document.querySelector("#articles tbody");
    body.textContent = "";
    for (const a of list) {
      const tr = cc.el("tr", null, { "data-id": String(a.id) });
      tr.append(cc.el("td", a.title), cc.el("td", a.locale),
                cc.el("td").appendChild(cc.el("span", a.state, { class: `badge ${a.state}` })).parentNode,
                cc.el("td", when(a.updated_at)));
      if (current && current.id === a.id) tr.classList.add("current");
      tr.addEventListener("click", () => openArticle(a.id));
      body.append(tr);
    }
    document.getElementById("list-empty").classList.toggle("hidden", list.length > 0);
    cc.text("list-error", "");
  } catch (err) { cc.fail("list-error", err); }
}

function showEditor(article) {
  current = article;
  document.getElementById("editor").classList.remove("hidden");
  document.getElementById("e-existing").classList.toggle("hidden", !article);
  const localeSelect = document.getElementById("e-locale");
  localeSelect.disabled = !!article;
  document.getElementById("e-title").value = article ? article.title : "";
  document.getElementById("e-slug").value = article ? article.slug : "";
  document.getElementById("e-tags").value = article ? article.tags.join(", ") : "";
  document.getElementById("e-body").value = article ? article.body : "";
  document.getElementById("e-category").value = article && article.category_id ? String(article.category_id) : "";
  cc.text("e-error", "");
  cc.text("e-saved", "");
  document.getElementById("diff").classList.add("hidden");
  const link = document.getElementById("e-url");
  if (article) {
    localeSelect.value = article.locale;
    cc.text("e-heading", article.title);
    cc.text("e-meta", `#${article.id} · ${article.locale} · version ${article.version} · ` +
                      `by ${article.updated_by}, ${when(article.updated_at)}`);
    link.textContent = article.state === "published" ? article.url : "";
    link.href = article.url;
    const origin = document.getElementById("e-origin");
    origin.textContent = article.origin || "";
    origin.href = article.origin || "#";
    document.getElementById("e-origin-row").classList.toggle("hidden", !article.origin);
    showStates(article);
    showTranslations(article);
    loadVersions(article.id);
    loadMedia(article.id);
  } else {
    cc.text("e-heading", translationOf ? `New translation of “${translationOf.title}”` : "New article");
    cc.text("e-meta", "");
    link.textContent = "";
    document.getElementById("e-origin-row").classList.add("hidden");
  }
  for (const tr of document.querySelectorAll("#articles tbody tr"))
    tr.classList.toggle("current", !!article && tr.dataset.id === String(article.id));
  preview();
}

async function openArticle(id) {
  translationOf = null;
  try {
    showEditor(await cc.api("GET", `/api/kb/articles/${id}`));
  } catch (err) { cc.fail("list-error", err); }
}

function newArticle(original, locale) {
  translationOf = original || null;
  showEditor(null);
  const localeSelect = document.getElementById("e-locale");
  localeSelect.disabled = !!original;
  localeSelect.value = locale || document.getElementById("f-locale").value || locales[0];
  if (original) {
    document.getElementById("e-title").value = original.title;
    document.getElementById("e-body").value = original.body;
    document.getElementById("e-tags").value = original.tags.join(", ");
    document.getElementById("e-category").value = original.category_id ? String(original.category_id) : "";
    preview();
  }
  document.getElementById("e-title").focus();
}

/** The server renders the markdown exactly as the help center will; the newest answer wins. */
function preview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(async () => {
    const seq = ++previewSeq;
    const body = document.getElementById("e-body").value;
    try {
      const out = await cc.api("POST", "/api/kb/preview", { body });
      if (seq === previewSeq) document.getElementById("e-preview").innerHTML = out.html;
    } catch (err) { if (seq === previewSeq) cc.fail("e-error", err); }
  }, 250);
}

function fields() {
  const tags = document.getElementById("e-tags").value.split(/[,\s]+/).filter(Boolean);
  const category = document.getElementById("e-category").value;
  const out = { title: document.getElementById("e-title").value,
                body: document.getElementById("e-body").value, tags,
                category_id: category ? Number(category) : null };
  const slug = document.getElementById("e-slug").value.trim();
  if (slug) out.slug = slug;
  return out;
}

async function save(event) {
  event.preventDefault();
  cc.text("e-error", "");
  try {
    let saved;
    if (current) {
      saved = await cc.api("PUT", `/api/kb/articles/${current.id}`,
                           { version: current.version, ...fields() });
    } else {
      const body = { locale: document.getElementById("e-locale").value, ...fields() };
      if (translationOf) body.translation_of = translationOf.id;
      saved = await cc.api("POST", "/api/kb/articles", body);
    }
    await openArticle(saved.id);
    cc.text("e-saved", `Saved: version ${saved.version}`);
    await loadList();
  } catch (err) {
    if (err.status === 409 && err.body && err.body.current_version)
      cc.text("e-error", `${err.message} (someone saved version ${err.body.current_version}; ` +
                         "copy your text, reopen the article and apply it again)");
    else cc.fail("e-error", err);
  }
}

function showStates(article) {
  const ahead = article.publish_at && new Date(article.publish_at) > new Date();
  cc.text("e-state", ahead ? "scheduled" : article.state);
  cc.text("e-scheduled", ahead ? `shown from ${when(article.publish_at)}` : "");
  document.getElementById("e-publish-at").value = "";
  document.getElementById("e-state").className = `badge ${article.state}`;
  const row = document.getElementById("states");
  for (const b of row.querySelectorAll("button")) b.remove();
  for (const state of STATES) {
    if (state === article.state) continue;
    const b = cc.el("button", state, { type: "button", "data-state": state });
    if (state === "published") b.classList.add("primary");
    b.addEventListener("click", () => setState(state));
    row.append(b);
  }
}

async function setState(state, publishAt) {
  cc.text("e-error", "");
  try {
    const body = { state, version: current.version };
    if (publishAt) body.publish_at = publishAt;
    const saved = await cc.api("POST", `/api/kb/articles/${current.id}/state`, body);
    await openArticle(saved.id);
    cc.text("e-saved", `Now ${saved.state}: version ${saved.version}`);
    await loadList();
  } catch (err) { cc.fail("e-error", err); }
}

function showTranslations(article) {
  const list = document.getElementById("translations");
  list.textContent = "";
  const have = new Set([article.locale, ...article.translations.map((t) => t.locale)]);
  for (const t of article.translations) {
    const li = cc.el("li", null, { "data-locale": t.locale });
    const a = cc.el("a", `${t.locale}: ${t.title}`, { href: "#" });
    a.addEventListener("click", (e) => { e.preventDefault(); openArticle(t.id); });
    li.append(a, " ", cc.el("span", t.state, { class: `badge ${t.state}` }));
    list.append(li);
  }
  if (!article.translations.length) list.append(cc.el("li", "none yet", { class: "muted" }));
  const missing = locales.filter((l) => !have.has(l));
  fill(document.getElementById("tr-locale"), missing.map((l) => [l, l]));
  document.getElementById("translate").disabled = missing.length === 0;
}

async function loadVersions(id) {
  const body = document.querySelector("#versions tbody");
  body.textContent = "";
  try {
    const versions = await cc.api("GET", `/api/kb/articles/${id}/versions`);
    for (const v of versions) {
      const tr = cc.el("tr", null, { "data-version": String(v.version) });
      const actions = cc.el("td");
      if (v.version !== current.version) {
        const diff = cc.el("button", "Diff", { type: "button", class: "diff-button" });
        diff.addEventListener("click", () => showDiff(id, v.version, current.version));
        const restore = cc.el("button", "Restore", { type: "button", class: "restore-button" });
        restore.addEventListener("click", () => restoreVersion(id, v.version));
        actions.append(diff, " ", restore);
      }
      tr.append(cc.el("td", v.version), cc.el("td", v.action), cc.el("td", v.state),
                cc.el("td", v.by), cc.el("td", when(v.at)), actions);
      body.append(tr);
    }
  } catch (err) { cc.fail("e-error", err); }
}

async function showDiff(id, from, to) {
  try {
    const out = await cc.api("GET", `/api/kb/articles/${id}/diff?from=${from}&to=${to}`);
    const pre = document.getElementById("diff");
    pre.textContent = "";
    for (const line of out.diff.split("\n")) {
      const cls = line.startsWith("@@") ? "hunk" : line.startsWith("+") && !line.startsWith("+++") ? "add"
        : line.startsWith("-") && !line.startsWith("---") ? "del" : "";
      pre.append(cls ? cc.el("span", line, { class: cls }) : document.createTextNode(line + "\n"));
    }
    if (!out.diff) pre.textContent = `Versions ${from} and ${to} have the same title and text.`;
    pre.classList.remove("hidden");
  } catch (err) { cc.fail("e-error", err); }
}

async function restoreVersion(id, version) {
  try {
    const saved = await cc.api("POST", `/api/kb/articles/${id}/versions/${version}/restore`,
                               { version: current.version });
    await openArticle(saved.id);
    cc.text("e-saved", `Version ${version} restored as version ${saved.version}`);
    await loadList();
  } catch (err) { cc.fail("e-error", err); }
}

function schedule() {
  const value = document.getElementById("e-publish-at").value;
  if (!value) { cc.text("e-error", "Choose when to publish it"); return; }
  setState("published", new Date(value).toISOString()); // the browser's zone, sent as UTC
}

async function loadSynonyms() {
  const locale = document.getElementById("syn-locale").value;
  try {
    const out = await cc.api("GET", `/api/kb/synonyms/${locale}`);
    document.getElementById("syn-text").value = out.groups.map((g) => g.join(", ")).join("\n");
    cc.text("syn-status", `${out.groups.length} group(s)`);
    cc.text("syn-error", "");
  } catch (err) { cc.fail("syn-error", err); }
}

async function saveSynonyms() {
  const locale = document.getElementById("syn-locale").value;
  const groups = document.getElementById("syn-text").value.split("\n")
    .map((line) => line.split(",").map((t) => t.trim()).filter(Boolean))
    .filter((g) => g.length);
  try {
    const out = await cc.api("PUT", `/api/kb/synonyms/${locale}`, { groups });
    document.getElementById("syn-text").value = out.groups.map((g) => g.join(", ")).join("\n");
    cc.text("syn-status", `Saved: ${out.groups.length} group(s)`);
    cc.text("syn-error", "");
  } catch (err) { cc.fail("syn-error", err); }
}

function insertAtCursor(text) {
  const body = document.getElementById("e-body");
  const at = body.selectionStart ?? body.value.length;
  const before = body.value.slice(0, at);
  const gap = before && !before.endsWith("\n") ? "\n\n" : "";
  body.value = before + gap + text + "\n" + body.value.slice(body.selectionEnd ?? at);
  body.focus();
  preview();
}

async function loadMedia(id) {
  const list = document.getElementById("media");
  try {
    const files = await cc.api("GET", `/api/kb/articles/${id}/media`);
    if (!current || current.id !== id) return;
    list.replaceChildren(...files.map((m) => {
      const li = cc.el("li", null, { "data-key": m.key });
      const open = cc.el("a", m.filename, { href: m.url, target: "_blank", rel: "noopener" });
      const insert = cc.el("button", "Insert", { type: "button", class: "media-insert" });
      insert.onclick = () => insertAtCursor(m.markdown);
      const remove = cc.el("button", "Remove", { type: "button", class: "media-remove" });
      remove.onclick = async () => {
        try { await cc.api("DELETE", `/api/kb/media/${m.key}`); loadMedia(id); }
        catch (err) { cc.fail("e-upload-error", err); }
      };
      li.append(open, ` ${m.kind} · ${Math.ceil(m.size / 1024)} KiB `, insert, " ", remove);
      return li;
    }));
  } catch (err) { cc.fail("e-upload-error", err); }
}

async function upload() {
  const input = document.getElementById("e-file");
  const file = input.files && input.files[0];
  cc.text("e-upload-error", "");
  if (!current || !file) { cc.text("e-upload-error", "Choose a file (save the article first)."); return; }
  const id = current.id;
  // The raw bytes as the body: the server decides the type from them, not from this header.
  const r = await fetch(`/api/kb/articles/${id}/media?filename=${encodeURIComponent(file.name)}`, {
    method: "POST", credentials: "same-origin", body: file,
    headers: { "X-CSRF-Token": cc.csrf || "", "Content-Type": "application/octet-stream",
               "Accept": "application/json" } });
  let out = null;
  try { out = await r.json(); } catch (e) { out = { error: r.statusText }; }
  if (!r.ok) { cc.text("e-upload-error", out.error || String(r.status)); return; }
  input.value = "";
  insertAtCursor(out.markdown);
  loadMedia(id);
}

/** A category's slug from its name, as the server makes an article's from its title. */
function slugify(text) {
  return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 120).replace(/-+$/, "");
}

/** Every category, the editor's list of them and the panel's table, read again. */
async function loadCategories() {
  categories = await cc.api("GET", "/api/kb/categories");
  const byId = new Map(categories.map((c) => [c.id, c]));
  const path = (c) => { const names = []; for (let n = c, i = 0; n && i < 20; n = byId.get(n.parent_id), i++) names.unshift(n.name); return names.join(" › "); };
  // Tree order: each category after its parent (siblings as the server sorts them).
  const ordered = [];
  const walk = (parent, depth) => {
    for (const c of categories.filter((x) => x.parent_id === parent)) {
      if (ordered.some((o) => o.c === c) || depth > 20) continue;
      ordered.push({ c, depth });
      walk(c.id, depth + 1);
    }
  };
  walk(null, 0);
  const options = ordered.map(({ c }) => [String(c.id), path(c)]);
  const select = document.getElementById("e-category");
  const chosen = select.value;
  fill(select, options, cc.el("option", "(none)", { value: "" }));
  select.value = chosen && byId.has(Number(chosen)) ? chosen : "";
  fill(document.getElementById("c-parent"), options, cc.el("option", "(top)", { value: "" }));
  const inside = (c, ancestor) => { for (let n = c, i = 0; n && i < 20; n = byId.get(n.parent_id), i++) if (n.id === ancestor) return true; return false; };
  const body = document.querySelector("#categories tbody");
  body.replaceChildren(...ordered.map(({ c, depth }) => {
    const tr = cc.el("tr", null, { "data-id": String(c.id) });
    const name = cc.el("input", null, { class: "c-row-name", maxlength: "200", "aria-label": `Name of ${c.name}` });
    name.value = c.name;
    name.style.paddingLeft = `${0.3 + depth * 1.2}em`;
    const slug = cc.el("input", null, { class: "c-row-slug", maxlength: "120", "aria-label": `Slug of ${c.name}` });
    slug.value = c.slug;
    const parent = cc.el("select", null, { class: "c-row-parent", "aria-label": `Parent of ${c.name}` });
    fill(parent, options.filter(([id]) => !inside(byId.get(Number(id)), c.id)),
         cc.el("option", "(top)", { value: "" }));
    parent.value = c.parent_id ? String(c.parent_id) : "";
    const save = cc.el("button", "Save", { type: "button", class: "c-save" });
    save.onclick = () => saveCategory(c, { name: name.value, slug: slug.value.trim(),
                                           parent_id: parent.value ? Number(parent.value) : null });
    const remove = cc.el("button", "Delete", { type: "button", class: "c-delete" });
    remove.onclick = () => deleteCategory(c);
    const actions = cc.el("td");
    actions.append(save, " ", remove);
    const cells = [name, slug, parent].map((e) => { const td = cc.el("td"); td.append(e); return td; });
    tr.append(...cells, actions);
    return tr;
  }));
}

async function categoryChange(done, change) {
  cc.text("c-status", "");
  cc.text("c-error", "");
  try {
    await change();
    await loadCategories();
    cc.text("c-status", done);
  } catch (err) { cc.fail("c-error", err); }
}

function addCategory(event) {
  event.preventDefault();
  const name = document.getElementById("c-name").value.trim();
  const slug = document.getElementById("c-slug").value.trim() || slugify(name);
  const parent = document.getElementById("c-parent").value;
  categoryChange(`Added “${name}”`, async () => {
    await cc.api("POST", "/api/kb/categories",
                 { name, slug, parent_id: parent ? Number(parent) : null });
    document.getElementById("c-name").value = "";
    document.getElementById("c-slug").value = "";
  });
}

function saveCategory(c, changes) {
  // A PUT replaces the category: what the row does not edit is sent back as it was.
  categoryChange(`Saved “${changes.name.trim()}”`, () => cc.api("PUT", `/api/kb/categories/${c.id}`,
    { position: c.position, names: c.names, ...changes }));
}

function deleteCategory(c) {
  categoryChange(`Deleted “${c.name}”`, () => cc.api("DELETE", `/api/kb/categories/${c.id}`));
}

async function start() {
  const user = await cc.session(["supervisor", "admin"]);
  locales = (await cc.api("GET", "/api/kb/locales")).locales;
  fill(document.getElementById("f-locale"), locales.map((l) => [l, l]), cc.el("option", "every locale", { value: "" }));
  fill(document.getElementById("e-locale"), locales.map((l) => [l, l]));
  fill(document.getElementById("f-state"), STATES.map((s) => [s, s]), cc.el("option", "every state", { value: "" }));
  await loadCategories();
  document.getElementById("new-category").addEventListener("submit", addCategory);
  document.getElementById("filters").addEventListener("submit", (e) => { e.preventDefault(); loadList(); });
  document.getElementById("f-locale").addEventListener("change", loadList);
  document.getElementById("f-state").addEventListener("change", loadList);
  document.getElementById("new").addEventListener("click", () => newArticle(null));
  document.getElementById("e-form").addEventListener("submit", save);
  document.getElementById("e-body").addEventListener("input", preview);
  document.getElementById("schedule").addEventListener("click", schedule);
  document.getElementById("upload").addEventListener("click", upload);
  fill(document.getElementById("syn-locale"), locales.map((l) => [l, l]));
  document.getElementById("syn-locale").addEventListener("change", loadSynonyms);
  document.getElementById("syn-save").addEventListener("click", saveSynonyms);
  if (user.role !== "admin") {
    document.getElementById("syn-text").readOnly = true;
    document.getElementById("syn-save").disabled = true;
  } else cc.text("syn-who", "you may change them");
  loadSynonyms();
  document.getElementById("translate").addEventListener("click", () =>
    newArticle(current, document.getElementById("tr-locale").value));
  await loadList();
  const id = Number(new URLSearchParams(location.search).get("article"));
  if (id) await openArticle(id);
}

start();
