/**
 * The scans the document statistics are made of, one pass each over a chunk, instead of
 * regexes: a chunk is text from outside, and the regexes these replace backtracked, quadratic
 * on a run of dots (`/[.!?…]+(?=\s|$)/g`) and cubic on newlines (`/\n\s*\n\s*$/`), so one
 * chunk could block a worker's event loop for minutes. Each function gives exactly what the
 * regex it names gave (text-scanning.test.ts compares them on every short string).
 */

const FULL_STOP = 0x2e;
const EXCLAMATION_MARK = 0x21;
const QUESTION_MARK = 0x3f;
const ELLIPSIS = 0x2026;
const LINE_FEED = 0x0a;

/** A sentence's last character: `.`, `!`, `?` or `…`. */
export function isSentenceEnd(code: number): boolean {
  return code === FULL_STOP || code === EXCLAMATION_MARK || code === QUESTION_MARK || code === ELLIPSIS;
}

/** Whether a UTF-16 code unit is what a regex's `\s` (and String.prototype.trim) calls white space. */
export function isWhitespace(code: number): boolean {
  switch (code) {
    case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x20: case 0xa0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000: case 0xfeff:
      return true;
    default:
      return code >= 0x2000 && code <= 0x200a;
  }
}

/**
 * Runs of sentence-ending characters followed by white space or the end of the text, the
 * matches of `/[.!?…]+(?=\s|$)/g`: "Stop... Go!" has two, "3.14" and "...x" none.
 */
export function countSentenceEnds(text: string): number {
  let count = 0;
  for (let at = 0; at < text.length; at++) {
    // The last character of a run is the one the lookahead decides on.
    if (isSentenceEnd(text.charCodeAt(at)) && (at + 1 === text.length || isWhitespace(text.charCodeAt(at + 1)))) count++;
  }
  return count;
}

/** Whether `text` ends with a sentence-ending character, as `/[.!?…]$/` tested. */
export function endsWithSentenceEnd(text: string): boolean {
  return text.length > 0 && isSentenceEnd(text.charCodeAt(text.length - 1));
}

/**
 * Paragraph breaks: runs of white space with at least two line feeds, the separators
 * `split(/\n\s*\n/)` found (a run of five blank lines is one break, like "\n \n").
 */
export function countParagraphBreaks(text: string): number {
  let breaks = 0;
  let lineFeedsInRun = 0;
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (!isWhitespace(code)) {
      lineFeedsInRun = 0;
    } else if (code === LINE_FEED && ++lineFeedsInRun === 2) {
      breaks++;
    }
  }
  return breaks;
}

/** Whether `text` ends in a paragraph break (trailing white space with two line feeds), as `/\n\s*\n\s*$/` tested. */
export function endsWithParagraphBreak(text: string): boolean {
  let lineFeeds = 0;
  for (let at = text.length - 1; at >= 0 && lineFeeds < 2; at--) {
    const code = text.charCodeAt(at);
    if (!isWhitespace(code)) return false;
    if (code === LINE_FEED) lineFeeds++;
  }
  return lineFeeds === 2;
}

/**
 * Where the last paragraph break of `text` ends (after its last line feed), or undefined: the
 * end of the last match of `/\n\s*\n/g`.
 */
export function lastParagraphBreakEnd(text: string): number | undefined {
  let end: number | undefined;
  let lineFeedsInRun = 0;
  // Backwards: the first run with two line feeds is the last break; its first line feed seen is where it ends.
  for (let at = text.length - 1; at >= 0; at--) {
    const code = text.charCodeAt(at);
    if (!isWhitespace(code)) {
      lineFeedsInRun = 0;
      end = undefined;
    } else if (code === LINE_FEED) {
      if (++lineFeedsInRun === 1) end = at + 1;
      else return end;
    }
  }
  return undefined;
}

/** Where the last sentence end followed by white space ends (after the white space), or undefined: the last match of `/[.!?…]\s/g`. */
export function lastSentenceBreakEnd(text: string): number | undefined {
  for (let at = text.length - 2; at >= 0; at--) {
    if (isSentenceEnd(text.charCodeAt(at)) && isWhitespace(text.charCodeAt(at + 1))) return at + 2;
  }
  return undefined;
}

/** Where the last white space character ends, or undefined: the last match of `/\s/g`. */
export function lastWhitespaceEnd(text: string): number | undefined {
  for (let at = text.length - 1; at >= 0; at--) {
    if (isWhitespace(text.charCodeAt(at))) return at + 1;
  }
  return undefined;
}
