// Colour is decided once, before citty is loaded: citty reads NO_COLOR (only the value "1") when it is
// imported and colours help and errors even when piped. Here: FORCE_COLOR (set, not "0"/"false") turns colour
// on, as Node's own rule has it (https://nodejs.org/api/cli.html#force_color1-2-3); otherwise NO_COLOR with
// any non-empty value (https://no-color.org), TERM=dumb, or stdout or stderr not a terminal turns it off.
// Imported first by main.ts, so this runs before citty's module body.
const env = process.env;
const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" ? !["0", "false"].includes(env.FORCE_COLOR) : undefined;

export const useColor: boolean = forced ?? (!env.NO_COLOR && env.TERM !== "dumb" && !!process.stdout.isTTY && !!process.stderr.isTTY);

// citty's switch is NO_COLOR=1; child processes inherit it, which is what a user who asked for no colour wants.
if (!useColor) env.NO_COLOR = "1";
else if (forced) delete env.NO_COLOR;

/** Escape sequences removed (for text from libraries that colour on their own). */
export const plain = (text: string): string => (useColor ? text : text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, ""));
