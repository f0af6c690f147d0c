import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLanguage, detectLanguage } from "../../../src/transforms/checks/language.ts";
import { checkLength } from "../../../src/transforms/checks/length.ts";

test("language: a pair in its chunk's language matches; another language does not", () => {
  const de = "Die Überlappung ist die Anzahl der Zeichen, die zwei benachbarte Abschnitte gemeinsam haben. Sie sorgt dafür, dass ein Satz lesbar bleibt.";
  assert.equal(detectLanguage(de), "de");
  assert.equal(checkLanguage("Was ist die Überlappung zweier Abschnitte?", "Die Anzahl der Zeichen, die zwei Abschnitte gemeinsam haben.", de).languageMatches, true);
  assert.equal(checkLanguage("What is the overlap between two chunks?", "The number of characters two neighbouring chunks share.", de).languageMatches, false);
  assert.equal(detectLanguage("ok"), "", "too short to tell");
  assert.equal(detectLanguage("What is the default chunk size of the pipeline?"), "en");
  assert.equal(detectLanguage("La taille des morceaux est le nombre de caractères que chaque morceau contient au maximum."), "fr");
  assert.equal(detectLanguage("El tamaño del fragmento es el número máximo de caracteres que contiene cada fragmento."), "es");
});

test("length bounds", () => {
  assert.equal(checkLength("What is chunk overlap?", "The characters two chunks share."), "ok");
  assert.equal(checkLength("Overlap?", "The characters two chunks share."), "too_short");
  assert.equal(checkLength("What is chunk overlap?", "Yes"), "too_short");
  assert.equal(checkLength("What is chunk overlap?", "word ".repeat(401)), "too_long");
});
