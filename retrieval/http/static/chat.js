// confluence-kb chat page: plain JavaScript, no build step, no third-party code.
// It talks to the same server's API: GET /page/config, GET /v1/status, POST /v1/ask
// (server-sent events: hits, delta..., citations, done, or error). The API key lives in sessionStorage
// only and is sent as `Authorization: Bearer`; it never goes into a URL. All server text is inserted
// as text (textContent), never as HTML.
"use strict";

(() => {
  const KEY_STORE = "confluence-kb.api-key";
  const HISTORY_TURNS = 6;          // earlier question/answer pairs sent with a follow-up
  const STATUS_EVERY_MS = 5 * 60 * 1000;
  const $ = (id) => document.getElementById(id);

  const state = { keyRequired: true, history: [], busy: false, spaces: [], pending: "", who: "" };

  // -- the key ------------------------------------------------------------------------------------
  function storedKey() {
    try { return sessionStorage.getItem(KEY_STORE) || ""; } catch { return ""; }
  }
  function storeKey(value) {
    memoryKey = value;
    try {
      if (value) sessionStorage.setItem(KEY_STORE, value); else sessionStorage.removeItem(KEY_STORE);
    } catch { /* storage disabled: the key lives for this page only */ }
  }
  let memoryKey = storedKey();

  function askForKey(message) {
    const dialog = $("key-dialog");
    const error = $("key-error");
    error.hidden = !message;
    error.textContent = message || "";
    $("key-input").value = "";
    if (!dialog.open) dialog.showModal();
    $("key-input").focus();
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("key-input").value.trim();
    if (!value) { askForKey("Enter a key."); return; }
    storeKey(value);
    $("key-dialog").close();
    $("change-key").hidden = false;
    if (state.pending && !$("question").value) $("question").value = state.pending;
    state.pending = "";
    loadStatus().then(() => $("question").focus());
  });
  $("key-dialog").addEventListener("cancel", (event) => { if (!memoryKey) event.preventDefault(); });
  $("change-key").addEventListener("click", () => askForKey(""));

  function headers(extra) {
    const out = Object.assign({ "Content-Type": "application/json" }, extra || {});
    if (memoryKey) out.Authorization = "Bearer " + memoryKey;
    return out;
  }

  // -- errors in words ---------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body, retryAfter) {
      super((body && body.error) || ("HTTP " + status));
      this.status = status;
      this.guidance = (body && body.guidance) || "";
      this.retryAfter = retryAfter;
    }
  }

  async function apiError(response) {
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    return new ApiError(response.status, body, response.headers.get("Retry-After"));
  }

  function inWords(err) {
    if (!(err instanceof ApiError)) {
      return "Cannot reach the server (" + (err && err.message ? err.message : "network error") +
        "). Check that `kb serve` is running, then try again.";
    }
    switch (err.status) {
      case 401: return "The API key was not accepted (" + err.message + "). Enter a valid key.";
      case 403: return "This key may not do that (" + err.message + ").";
      case 429: return "Too many requests: wait " + (err.retryAfter || "a few") +
        " seconds, then ask again.";
      case 503: return "The knowledge base is not ready (" + err.message + ")." +
        (err.guidance ? " " + err.guidance : "");
      default: return err.message + (err.guidance ? " — " + err.guidance : "");
    }
  }

  function notice(message, isError) {
    const box = $("notice");
    box.hidden = !message;
    box.textContent = message || "";
    box.classList.toggle("error", Boolean(isError));
  }

  function handleAuth(err) {
    if (err instanceof ApiError && err.status === 401) {
      storeKey("");
      askForKey(inWords(err));
      return true;
    }
    return false;
  }

  // -- status: freshness in the footer, spaces for the filter --------------------------------------
  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso);
    return date.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function runFinished(run) {
    const started = new Date(run.started);
    if (Number.isNaN(started.getTime())) return run.started;
    return new Date(started.getTime() + (Number(run.seconds) || 0) * 1000).toISOString();
  }

  function showFreshness(status) {
    const spaces = status.spaces && typeof status.spaces === "object" ? Object.keys(status.spaces) : [];
    const parts = ["Knowledge base: " + (status.pages || 0) + " pages in " + spaces.length +
      (spaces.length === 1 ? " space" : " spaces")];
    const run = status.last_run;
    if (run && run.started) {
      parts.push("last sync " + when(runFinished(run)) + " (" + run.kind + ", " + run.status + ")");
    } else {
      parts.push("never synced: run `kb ingest`");
    }
    if (status.ready === false) parts.push("not ready yet");
    $("freshness").textContent = parts.join(" · ");
  }

  // Who is asking: /v1/status's `caller.principal` (whom the key searches as: an email or account id,
  // "anonymous", "operator (every page)"). A server without it shows nothing.
  function showIdentity(who) {
    const name = who && typeof who === "object" ? who.principal : null;
    state.who = name || "";
    $("who").hidden = !name;
    $("who").textContent = name ? "Asking as " + name : "";
  }

  function fillSpaces(status) {
    const select = $("f-space");
    const spaces = status.spaces && typeof status.spaces === "object" ? Object.keys(status.spaces).sort() : [];
    if (spaces.join() === state.spaces.join()) return;
    state.spaces = spaces;
    const keep = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const key of spaces) select.add(new Option(key, key));
    select.value = spaces.includes(keep) ? keep : "";
  }

  async function loadStatus() {
    try {
      const response = await fetch("/v1/status", { headers: headers() });
      if (!response.ok) throw await apiError(response);
      const status = await response.json();
      showFreshness(status);
      showIdentity(status.caller);
      fillSpaces(status);
      notice("");
      return true;
    } catch (err) {
      if (!handleAuth(err)) {
        $("freshness").textContent = "Knowledge base: unknown (" + inWords(err) + ")";
      }
      return false;
    }
  }

  // -- filters -------------------------------------------------------------------------------------
  function filters() {
    const out = {};
    const space = $("f-space").value;
    const kind = $("f-kind").value;
    const labels = $("f-label").value.split(",").map((s) => s.trim()).filter(Boolean);
    const after = $("f-after").value;
    if (space) out.spaces = [space];
    if (kind) out.kinds = [kind];
    if (labels.length) out.labels = labels;
    if (after) out.updated_after = after;
    return out;
  }

  function showFilterCount() {
    const count = Object.keys(filters()).length;
    $("filter-count").hidden = count === 0;
    $("filter-count").textContent = count ? String(count) : "";
  }
  for (const id of ["f-space", "f-kind", "f-label", "f-after"]) {
    $(id).addEventListener("change", showFilterCount);
    $(id).addEventListener("input", showFilterCount);
  }
  $("f-clear").addEventListener("click", () => {
    for (const id of ["f-space", "f-kind", "f-label", "f-after"]) $(id).value = "";
    showFilterCount();
  });

  // -- rendering an answer -------------------------------------------------------------------------
  function citationHref(citation) {
    const url = citation.url || "";
    const anchor = citation.anchor || "";
    if (!anchor || url.includes("#")) return url;
    return url + "#" + encodeURIComponent(anchor).replace(/%2F/gi, "/");
  }

  function link(href, text, className) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    if (className) a.className = className;
    return a;
  }

  // The answer's text with each [n] (or [n, m]) a link to citation n.
  function renderText(box, text, citations) {
    const out = document.createDocumentFragment();  // one change to the page, not one per piece
    const byNumber = new Map((citations || []).map((c) => [Number(c.number), c]));
    const marker = /\[(\d+(?:\s*,\s*\d+)*)\]/g;
    let last = 0;
    for (const match of text.matchAll(marker)) {
      out.append(text.slice(last, match.index));
      const numbers = match[1].split(",").map((n) => Number(n.trim()));
      if (numbers.every((n) => byNumber.has(n))) {
        for (const n of numbers) {
          const c = byNumber.get(n);
          const a = link(citationHref(c), "[" + n + "]", "cite");
          a.dataset.number = String(n);
          a.title = c.title || c.url;
          out.append(a);
        }
      } else {
        out.append(match[0]);
      }
      last = match.index + match[0].length;
    }
    out.append(text.slice(last));
    box.replaceChildren(out);
  }

  function renderSources(turn, citations, hits) {
    const list = turn.querySelector(".source-list");
    list.replaceChildren();
    const byChunk = new Map((hits || []).map((h) => [h.chunk_id, h]));
    for (const c of citations) {
      const hit = byChunk.get(c.chunk_id) || {};
      const item = document.createElement("li");
      item.value = Number(c.number) || list.children.length + 1;
      item.className = "source";
      item.dataset.chunkId = c.chunk_id || "";
      const title = link(citationHref(c), c.title || hit.title || c.url, "source-title");
      const meta = document.createElement("div");
      meta.className = "source-meta";
      const bits = [];
      if (hit.space_key) bits.push("Space " + hit.space_key);
      if (hit.header) bits.push(hit.header);
      else if (hit.heading_path) bits.push(hit.heading_path);
      if (hit.updated_at) bits.push("updated " + String(hit.updated_at).slice(0, 10));
      meta.textContent = bits.join(" · ");
      const quote = document.createElement("blockquote");
      quote.className = "source-quote";
      quote.textContent = c.quote || "";
      item.append(title, meta, quote);
      list.append(item);
    }
    turn.querySelector(".sources").hidden = citations.length === 0;
  }

  function renderNotFound(turn, done, hits) {
    let closest = (done && done.closest) || [];
    if (!closest.length) {  // older servers: the closest pages from the hits
      const seen = new Set();
      for (const h of hits || []) {
        if (!seen.has(h.page_id)) { seen.add(h.page_id); closest.push(h); }
        if (closest.length >= 3) break;
      }
    }
    const list = turn.querySelector(".closest");
    list.replaceChildren();
    for (const page of closest) {
      const item = document.createElement("li");
      item.append(link(page.url, page.title || page.url));
      list.append(item);
    }
    turn.querySelector(".not-found-hint").hidden = closest.length === 0;
    if (state.who.startsWith("anonymous")) {  // a plain key: only what anonymous users may see
      turn.querySelector(".not-found-title").textContent = "Not found in the knowledge base. This key " +
        "searches as anonymous: it sees only the pages anonymous users may see.";
    }
    turn.querySelector(".not-found").hidden = false;
    turn.querySelector(".answer-text").hidden = true;
    turn.classList.add("is-not-found");
  }

  function addQuestion(text) {
    $("empty").hidden = true;
    const turn = document.createElement("div");
    turn.className = "turn question";
    turn.textContent = text;
    $("log").append(turn);
    return turn;
  }

  function addAnswer() {
    const turn = $("answer-template").content.firstElementChild.cloneNode(true);
    $("log").append(turn);
    return turn;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(() => legacyCopy(text));
    }
    return Promise.resolve(legacyCopy(text));
  }
  function legacyCopy(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) throw new Error("copy refused");
  }

  function enableCopy(turn, text, citations) {
    const button = turn.querySelector(".copy");
    const sources = citations.map((c) => "[" + c.number + "] " + (c.title || "") + " " + citationHref(c));
    const full = text + (sources.length ? "\n\nSources:\n" + sources.join("\n") : "");
    turn.dataset.copyText = full;
    button.hidden = false;
    button.addEventListener("click", () => {
      copyText(full).then(() => { button.textContent = "Copied"; },
        () => { button.textContent = "Copy failed: select the text instead"; });
    });
  }

  // -- asking ----------------------------------------------------------------------------------------
  function* sseFrames(buffer) {  // complete frames of a text/event-stream buffer, and the rest
    let at;
    while ((at = buffer.text.indexOf("\n\n")) >= 0) {
      const block = buffer.text.slice(0, at);
      buffer.text = buffer.text.slice(at + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield [name, JSON.parse(data.join("\n"))];
    }
  }

  async function ask(question) {
    const started = performance.now();
    const asked = addQuestion(question);
    const turn = addAnswer();
    asked.scrollIntoView({ block: "start" });  // the question on top, its answer growing below
    const textBox = turn.querySelector(".answer-text");
    const stateBox = turn.querySelector(".state");
    const result = { text: "", hits: [], citations: [], done: null };
    const body = { question, stream: true, history: state.history.slice(-2 * HISTORY_TURNS) };
    const chosen = filters();
    if (Object.keys(chosen).length) body.filters = chosen;
    turn.dataset.state = "streaming";
    try {
      const response = await fetch("/v1/ask", {
        method: "POST", headers: headers({ Accept: "text/event-stream" }), body: JSON.stringify(body),
      });
      if (!response.ok) throw await apiError(response);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const buffer = { text: "" };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer.text += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
        for (const [name, data] of sseFrames(buffer)) {
          if (name === "hits") {
            result.hits = data.hits || [];
            stateBox.textContent = "Writing the answer…";
          } else if (name === "delta") {
            if (!result.text) turn.dataset.firstWordMs = String(Math.round(performance.now() - started));
            result.text += data.text || "";
            textBox.textContent = result.text;
          } else if (name === "citations") {
            result.citations = data.citations || [];
          } else if (name === "done") {
            result.done = data;
          } else if (name === "error") {
            throw new ApiError(500, data, null);
          }
        }
      }
      if (!result.done) throw new Error("the answer stream ended early");
      finish(turn, question, result, started);
    } catch (err) {
      turn.dataset.state = "error";
      stateBox.textContent = "";
      const message = inWords(err);
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = message;
      textBox.replaceChildren(p);
      if (handleAuth(err)) state.pending = question;
    }
  }

  function finish(turn, question, result, started) {
    const { done } = result;
    if (done.not_found) {
      renderNotFound(turn, done, result.hits);
    } else {
      renderText(turn.querySelector(".answer-text"), result.text, result.citations);
      renderSources(turn, result.citations, result.hits);
    }
    const warnings = (done.warnings || []).filter(Boolean);
    const warn = turn.querySelector(".warnings");
    warn.hidden = warnings.length === 0;
    warn.textContent = warnings.join(" ");
    const ms = performance.now() - started;
    const total = ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(1) + " s";
    const searched = done.query && done.query !== question ? " · searched for: " + done.query : "";
    turn.querySelector(".state").textContent = "Answered in " + total + searched;
    turn.dataset.state = done.not_found ? "not-found" : "done";
    enableCopy(turn, result.text, result.citations);
    state.history.push({ role: "user", content: question }, { role: "assistant", content: result.text });
  }

  async function send() {
    const box = $("question");
    const question = box.value.trim();
    if (!question || state.busy) return;
    if (state.keyRequired && !memoryKey) { askForKey(""); return; }
    state.busy = true;
    $("send").disabled = true;
    box.value = "";
    try { await ask(question); } finally {
      state.busy = false;
      $("send").disabled = false;
      box.focus();
    }
  }

  $("ask").addEventListener("submit", (event) => { event.preventDefault(); send(); });
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  $("new-chat").addEventListener("click", () => {
    state.history = [];
    $("log").replaceChildren($("empty"));
    $("empty").hidden = false;
    $("question").focus();
  });

  // -- start -------------------------------------------------------------------------------------------
  async function start() {
    try {
      const response = await fetch("/page/config");
      if (response.ok) state.keyRequired = Boolean((await response.json()).key_required);
    } catch { /* assume a key is needed */ }
    $("change-key").hidden = !state.keyRequired;
    if (state.keyRequired && !memoryKey) {
      $("freshness").textContent = "Knowledge base: enter an API key to see it.";
      askForKey("");
      return;
    }
    await loadStatus();
    $("question").focus();
  }
  setInterval(() => { if (!state.keyRequired || memoryKey) loadStatus(); }, STATUS_EVERY_MS);
  start();
})();
