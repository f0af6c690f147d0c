// Text from outside (file names, paths, model names, settings) made safe to put into Markdown: it renders
// as the same characters and can start no heading, list, link, HTML tag or table cell of its own.

/** Control characters (a newline in a file name, say) shown as escapes, so text stays on its line. */
function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

/** Plain text: Markdown's punctuation backslash-escaped (also `|`, so it is safe in a table cell). */
export function mdText(text: string): string {
  return oneLine(text).replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`);
}

/** An inline code span holding `text` verbatim, whatever backticks it contains (`|` escaped for tables). */
export function mdCode(text: string): string {
  const t = oneLine(text).replace(/\|/g, "\\|");
  const longest = Math.max(0, ...[...t.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = t.startsWith("`") || t.endsWith("`") ? " " : "";
  return `${fence}${pad}${t}${pad}${fence}`;
}

/** A YAML scalar for front matter: plain when it is a simple name, else a JSON string (valid YAML, one line). */
export const yamlString = (text: string): string => (/^[\w][\w.-]*$/.test(text) ? text : JSON.stringify(text));
