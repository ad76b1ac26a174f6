// What a node title asks of the API, read on the fly for hints in the UI (badges, the manager).
//
//   readTitle("KSampler $sampler(seed,steps) #preview [!cache]")
//   -> [{kind: "input", name: "sampler", only: ["seed", "steps"]}, {kind: "output", name: "preview"},
//       {kind: "cache", name: "cache"}]
//
// A line-by-line port of the server's parser (connect/annotations.py): the same rules, and the same
// message for an annotation that cannot be read (as a last {kind: "problem", text} note; like the
// server, reading stops there). Both are checked against one list of titles,
// tests/title_specimens.json. Only a hint all the same: the server parses titles again when the
// workflow is saved, and its answer is what counts.
// Loaded by ComfyUI as an extension module too: it only exports.

const SIGILS = "$#!";
const NAME_PATTERN = "[A-Za-z0-9_][A-Za-z0-9_-]*";
const NAME = new RegExp(NAME_PATTERN, "y");
const INPUT = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/;
const DIRECTIVES = ["bypass", "cache"];

class TitleError extends Error {}

// Python's str.isspace for the characters a title may hold (JS \s also counts U+FEFF, Python does not;
// Python also counts U+001C..U+001F and U+0085, JS does not).
function isSpace(ch) {
  return ch !== undefined && ch !== "\ufeff" && (/\s/.test(ch) || /[\x1c-\x1f\x85]/.test(ch));
}

/** Python's repr() of a string, for the messages (exact for printable text, \t \n \r and Latin-1 control characters). */
function repr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || (code >= 0x7f && code <= 0xa0) || code === 0xad) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += ch;
  }
  return quote + out + quote;
}

/** @returns {{kind: "input"|"output"|"bypass"|"cache"|"problem", name?: string, only?: string[], text?: string}[]} */
export function readTitle(title) {
  const notes = [];
  const text = String(title ?? "");
  try {
    let i = 0;
    const n = text.length;
    while (i < n) {
      const startsWord = i === 0 || isSpace(text[i - 1]);
      const ch = text[i];
      if (startsWord && SIGILS.includes(ch) && annotationFollows(text, i)) {
        i = readOne(text, i, notes, false);
      } else if (startsWord && ch === "[" && i + 1 < n && SIGILS.includes(text[i + 1])) {
        i = readGroup(text, i + 1, notes);
      } else {
        i += 1;
      }
    }
  } catch (err) {
    if (!(err instanceof TitleError)) throw err;
    notes.push({ kind: "problem", text: err.message });
  }
  return notes;
}

function annotationFollows(text, i) {
  // A lone sigil ("Price: $ 5", "Step #") is ordinary text.
  return i + 1 < text.length && !isSpace(text[i + 1]);
}

function readGroup(text, i, notes) {
  for (;;) {
    while (i < text.length && isSpace(text[i])) i += 1;
    if (i >= text.length) throw new TitleError("'[' is never closed: expected ']' after the annotations");
    if (text[i] === "]") return i + 1;
    if (!SIGILS.includes(text[i])) {
      throw new TitleError(`unexpected ${repr(charAt(text, i))} inside '[...]': only $, # and ! annotations go there`);
    }
    i = readOne(text, i, notes, true);
  }
}

function readOne(text, i, notes, inGroup) {
  const sigil = text[i];
  NAME.lastIndex = i + 1;
  const match = NAME.exec(text);
  if (!match) throw new TitleError(`${repr(sigil)} at position ${position(text, i)} must be followed by a name (${NAME_PATTERN})`);
  const name = match[0];
  i = NAME.lastIndex;
  if (sigil === "$") {
    const [only, end] = readFilter(text, i, name);
    notes.push(only === null ? { kind: "input", name } : { kind: "input", name, only });
    i = end;
  } else if (sigil === "#") {
    notes.push({ kind: "output", name });
  } else if (DIRECTIVES.includes(name)) {
    notes.push({ kind: name, name });
  } else {
    throw new TitleError(`unknown directive '!${name}': expected one of ` + DIRECTIVES.map((d) => "!" + d).join(", "));
  }
  expectTokenEnd(text, i, inGroup);
  return i;
}

function readFilter(text, i, name) {
  if (i >= text.length || text[i] !== "(") return [null, i];
  const close = text.indexOf(")", i);
  if (close < 0) throw new TitleError(`'$${name}(' is never closed: expected ')' after the input names`);
  const inner = text.slice(i + 1, close);
  if (!inner.trim()) return [[], close + 1];
  const names = [];
  for (const part of inner.split(",")) {
    const m = INPUT.exec(part);
    if (!m) throw new TitleError(`'$${name}(${inner})': ${repr(part.trim())} is not an input name`);
    if (!names.includes(m[1])) names.push(m[1]);
  }
  return [names, close + 1];
}

function expectTokenEnd(text, i, inGroup) {
  if (i >= text.length || isSpace(text[i]) || (inGroup && text[i] === "]")) return;
  throw new TitleError(`unexpected ${repr(charAt(text, i))} at position ${position(text, i)} right after an annotation`);
}

/** The character at `i`, whole when it is an emoji (two UTF-16 units). */
function charAt(text, i) {
  return String.fromCodePoint(text.codePointAt(i));
}

/** Python counts characters, JS UTF-16 units: an emoji before `i` is one character. */
function position(text, i) {
  return [...text.slice(0, i)].length;
}

/** One short line for a badge: "in sampler(seed,steps) · out preview · cache", or "" without annotations. */
export function summarize(notes) {
  return notes
    .map((note) => {
      if (note.kind === "input") return `in ${note.name}` + (note.only ? `(${note.only.join(",")})` : "");
      if (note.kind === "output") return `out ${note.name}`;
      if (note.kind === "problem") return `⚠ ${note.text}`;
      return note.kind;
    })
    .join(" · ");
}
