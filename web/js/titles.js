// What a node title asks of the API, read on the fly for hints in the UI (badges, the manager).
//
//   readTitle("KSampler $sampler(seed,steps) #preview [!cache]")
//   -> [{kind: "input", name: "sampler", only: ["seed", "steps"]}, {kind: "output", name: "preview"},
//       {kind: "cache", name: "cache"}]
//
// Only a hint: the server parses titles again when the workflow is saved and its answer (including
// the exact error for a bad annotation) is what counts. Same word rule as the server: a sigil starts
// an annotation only at the start of a word or inside `[...]`, so "C#" or "Price $ 5" are plain text.
// Loaded by ComfyUI as an extension module too: it only exports.

const SIGILS = "$#!";
const NAME = /[A-Za-z0-9_][A-Za-z0-9_-]*/y;
const DIRECTIVES = ["bypass", "cache"];

/** @returns {{kind: "input"|"output"|"bypass"|"cache"|"problem", name?: string, only?: string[], text?: string}[]} */
export function readTitle(title) {
  const notes = [];
  const text = String(title ?? "");
  let i = 0;
  while (i < text.length) {
    const startsWord = i === 0 || /\s/.test(text[i - 1]);
    if (startsWord && SIGILS.includes(text[i]) && i + 1 < text.length && !/\s/.test(text[i + 1])) {
      i = readOne(text, i, notes);
    } else if (startsWord && text[i] === "[" && SIGILS.includes(text[i + 1] ?? "")) {
      const close = text.indexOf("]", i);
      const inner = close < 0 ? text.slice(i + 1) : text.slice(i + 1, close);
      if (close < 0) notes.push({ kind: "problem", text: "'[' is never closed" });
      for (const part of inner.trim().split(/\s+(?=[$#!])/)) readOne(part, 0, notes);
      i = close < 0 ? text.length : close + 1;
    } else {
      i += 1;
    }
  }
  return notes;
}

function readOne(text, i, notes) {
  const sigil = text[i];
  NAME.lastIndex = i + 1;
  const match = NAME.exec(text);
  if (!match) {
    notes.push({ kind: "problem", text: `'${sigil}' must be followed by a name` });
    return skipWord(text, i);
  }
  const name = match[0];
  let end = NAME.lastIndex;
  if (sigil === "#") {
    notes.push({ kind: "output", name });
  } else if (sigil === "!") {
    notes.push(DIRECTIVES.includes(name) ? { kind: name, name } : { kind: "problem", text: `unknown directive '!${name}'` });
  } else if (text[end] === "(") {
    const close = text.indexOf(")", end);
    if (close < 0) {
      notes.push({ kind: "problem", text: `'$${name}(' is never closed` });
      return text.length;
    }
    const only = text.slice(end + 1, close).split(",").map((s) => s.trim()).filter(Boolean);
    notes.push({ kind: "input", name, only });
    end = close + 1;
  } else {
    notes.push({ kind: "input", name });
  }
  return end;
}

function skipWord(text, i) {
  while (i < text.length && !/\s/.test(text[i])) i += 1;
  return i;
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
