/**
 * Semantic verification: the stage between "nearest neighbour above the threshold" and "served". Sentence
 * embeddings place minimal pairs ("capital of France" / "capital of Germany", "15% of 240" / "15% of 250",
 * "enable 2FA" / "disable 2FA") closer together than many true paraphrases, so no threshold separates them. The
 * verifier compares the two prompts' surface facts and rejects the candidate when any differ:
 *
 * - quoted strings and code identifiers must be identical;
 * - numbers (digits or words, in order), units, dates and time words must agree;
 * - negation, tense, the kind of question (who/when/where/why) and grammatical gender must agree;
 * - no word on one side may be the opposite of a word on the other (enable/disable, max/min, install/uninstall);
 * - no two significant words may have swapped places ("Paris bigger than London" / "London bigger than Paris");
 * - every content word present on only one side must be explained: a filler ("please", "exactly", "steps"), a
 *   synonym of a word on the other side, a spelling variant, a compound split, or a restated question word.
 *
 * Precision first: an unexplained word rejects. A miss costs one upstream call; a wrong hit costs trust.
 *
 * @module
 */
import {
  ANTONYM_PAIRS,
  ENTITY_ALIASES,
  FEMININE,
  FILLERS,
  FUTURE_AUX,
  INNER_FRAMES,
  MASCULINE,
  NEGATING_PREFIXES,
  NEGATIONS,
  NUMBER_WORDS,
  PAST_AUX,
  PHRASES,
  PRESENT_AUX,
  PRESENT_TIME,
  QUANTIFIERS,
  REQUEST_FRAMES,
  STOPWORDS,
  STRICT_WH,
  SYNONYM_GROUPS,
  TIME_WORDS,
  UNITS,
  WH_RESTATED,
} from "./lexicon.ts";

/** Why a candidate was rejected (a metric label). */
export type RejectReason =
  | "quoted"
  | "code"
  | "number"
  | "unit"
  | "date"
  | "entity"
  | "negation"
  | "tense"
  | "question_type"
  | "gender"
  | "quantifier"
  | "antonym"
  | "order"
  | "content";

/** The verdict on one (query, cached prompt) pair. */
export type Verdict = { ok: true } | { ok: false; reason: RejectReason; detail: string };

/** Decides whether a cached prompt's answer also answers a new prompt. */
export interface Verifier {
  verify(query: string, cached: string): Verdict;
}

const RELATIVE = new Set(["this", "next", "last", "past", "previous", "coming", "upcoming"]);
const RELATIVE_NOUNS = new Set([
  "week",
  "weekend",
  "month",
  "year",
  "quarter",
  "morning",
  "afternoon",
  "evening",
  "night",
  "season",
  "summer",
  "winter",
  "spring",
  "autumn",
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
  "sunday",
  "decade",
  "century",
]);
const SENTENCE_STARTERS = new Set(
  ("translate convert calculate compute compare write list summarize summarise count spell reverse fix correct " +
    "recommend suggest schedule remind set give tell explain describe show find is are can could should would " +
    "will do does did how what why who when where which please hey hi in on at for from flights flight best " +
    "create build make generate sort divide multiply add subtract").split(/\s+/),
);
const STOP_STEMS = new Set<string>();

// ---------------------------------------------------------------------------------------------------------------
// Word normalisation

const NO_STEM = new Set(["news", "series", "species", "physics", "mathematics", "always", "perhaps", "its"]);

/** A light suffix stripper: the same function on both sides maps inflections of a word to one form. */
export function stem(word: string): string {
  let w = word;
  if (w.length <= 3 || NO_STEM.has(w)) return w;
  if (w.endsWith("ies") && w.length > 4) w = w.slice(0, -3) + "y";
  else if (w.endsWith("ied") && w.length > 4) w = w.slice(0, -3) + "y";
  else if (/(ss|us|is)$/.test(w)) {
    // glass, virus, analysis: not plurals
  } else if (/(sses|xes|ches|shes|zes)$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith("s")) w = w.slice(0, -1);
  if (w.endsWith("ing") && w.length > 5) w = w.slice(0, -3);
  else if (w.endsWith("ed") && w.length > 4 && /[aeiouy]/.test(w.slice(0, -2))) w = w.slice(0, -2);
  else if (w.endsWith("ly") && w.length > 5) w = w.slice(0, -2);
  if (w.endsWith("ation") && w.length > 7) w = w.slice(0, -5);
  if (w.endsWith("e") && w.length > 3) w = w.slice(0, -1);
  if (/([bdfgkmnprt])\1$/.test(w)) w = w.slice(0, -1);
  if (w.endsWith("y") && w.length > 3) w = w.slice(0, -1) + "i";
  return w;
}

for (const w of STOPWORDS) STOP_STEMS.add(stem(w));
const FILLER_STEMS = new Set([...FILLERS].map(stem));

const SYNONYMS = new Map<string, Set<number>>();
SYNONYM_GROUPS.forEach((group, i) => {
  for (const w of group.split(" ")) {
    const s = stem(w);
    if (!SYNONYMS.has(s)) SYNONYMS.set(s, new Set());
    SYNONYMS.get(s)!.add(i);
  }
});

const ANTONYMS = new Map<string, Set<string>>();
for (const [a, b] of ANTONYM_PAIRS) {
  for (const [x, y] of [[stem(a), stem(b)], [stem(b), stem(a)]]) {
    if (!ANTONYMS.has(x)) ANTONYMS.set(x, new Set());
    ANTONYMS.get(x)!.add(y);
  }
}

const ALIASES = new Map<string, Set<number>>();
ENTITY_ALIASES.forEach((group, i) => {
  for (const w of group.split(" ")) {
    if (!ALIASES.has(w)) ALIASES.set(w, new Set());
    ALIASES.get(w)!.add(i);
  }
});

const WH_RESTATED_STEMS: Record<string, Set<string>> = Object.fromEntries(
  Object.entries(WH_RESTATED).map(([k, words]) => [k, new Set(words.map(stem))]),
);

function synonymous(a: string, b: string): boolean {
  if (a === b) return true;
  const ga = SYNONYMS.get(a);
  const gb = SYNONYMS.get(b);
  if (!ga || !gb) return false;
  for (const g of ga) if (gb.has(g)) return true;
  return false;
}

function opposite(a: string, b: string): boolean {
  if (ANTONYMS.get(a)?.has(b)) return true;
  for (const p of NEGATING_PREFIXES) {
    if ((a === p + b && b.length >= 3) || (b === p + a && a.length >= 3)) return true;
  }
  return false;
}

/** British/American spellings and typos that cannot be another word: transpositions, long-word edits. */
function spellingVariant(a: string, b: string): boolean {
  if (a === b) return true;
  const pairs: [RegExp, string][] = [[/our/g, "or"], [/ise/g, "ize"], [/yse/g, "yze"], [/tre\b/g, "ter"], [
    /ogue\b/g,
    "og",
  ]];
  for (const [re, to] of pairs) if (a.replace(re, to) === b.replace(re, to) && a.replace(re, to) !== a) return true;
  if (a.length === b.length && a.length >= 5) {
    const diff: number[] = [];
    for (let i = 0; i < a.length && diff.length <= 2; i++) if (a[i] !== b[i]) diff.push(i);
    if (diff.length === 2 && diff[1] === diff[0] + 1 && a[diff[0]] === b[diff[1]] && a[diff[1]] === b[diff[0]]) {
      return true;
    }
  }
  return Math.min(a.length, b.length) >= 8 && editDistanceAtMostOne(a, b);
}

function editDistanceAtMostOne(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0, j = 0, edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (b.length > a.length) j++;
    else {
      i++;
      j++;
    }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Analysis of one prompt

/** The surface facts of a prompt that the verifier compares. */
export interface Analysis {
  quoted: string[];
  code: string[];
  numbers: string[];
  units: string[];
  time: string[];
  entities: string[];
  negated: boolean;
  tense: "past" | "present" | "future" | null;
  wh: string[];
  gender: string[];
  /** Kinds of quantifier ("all", "some", "most", "each"). */
  quantifiers: string[];
  /** Lower-cased words after contraction and phrase folding (stop words included). */
  words: string[];
  /** The noun after "which"/"what" ("which city"), the kind of thing asked for. */
  typeNoun?: string;
  /** Stems of the significant words, in reading order ("A of B" read as "B A"). */
  stream: StreamToken[];
  /** Stems of the content words (significant, minus numbers, units and time words). */
  content: Set<string>;
}

/** A significant word (stem, `#` for a number, `u:<unit>`) and its position among the words. */
export interface StreamToken {
  token: string;
  at: number;
}

const NUM = "zznum";
const PHRASES_ANY_CASE: [RegExp, string][] = PHRASES.map(([re, to]) => [new RegExp(re.source, "gi"), to]);
const CODE_NOUNS = new Set(
  [
    "function",
    "method",
    "command",
    "hook",
    "keyword",
    "operator",
    "librari",
    "packag",
    "modul",
    "class",
    "flag",
    "option",
  ],
);
const TIME_UNITS = new Set(["s", "min", "h", "day", "week", "month", "year"]);
const COUNTING = new Set(["zznum", "many", "much", "per", "every", "each", "few", "several"]);
/** Words that give two names a direction: "from A to B", "A than B", "A by B". */
const DIRECTIONAL = new Set(["to", "into", "than", "from", "by", "minus", "over", "under", "before", "after"]);

const QUOTE_RE =
  /"([^"\n]{1,200})"|“([^”\n]{1,200})”|‘([^’\n]{1,200})’|`([^`\n]{1,200})`|(?:^|(?<=[\s(\[:]))'([^'\n]{1,200})'(?=$|[\s.,;:!?)\]])/g;
const CODE_RES: RegExp[] = [
  /\b[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:\(\))?/g,
  /\b[A-Za-z_$][\w$]*\(\)/g,
  /\b[a-z]+[A-Z][A-Za-z0-9]*\b/g,
  /\b[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*\b/g,
  /\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b/g,
  /(?<=^|\s)--?[A-Za-z][\w-]*/g,
  /(?<=^|\s)(?:\.{0,2}\/)?[\w.-]+\/[\w./-]*/g,
  /\b[A-Za-z]+(?:\+\+|#)/g,
  // Operators standing alone ("= and ==", "=> vs ->"), a single dash or slash aside (prose uses them).
  /(?<=^|[\s'"`(])(?:[=<>!+*%&|^~:?]{1,4}|[-/]{2,3}|[=<>!]+[-/]|[-/][=<>]+)(?=$|[\s'"`),.?!])/g,
];
// Digits glued to letters count too ("7pm", "5km"): the letters are read as a word of their own.
const NUMBER_RE = /(\d+(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)+|\d+)(st|nd|rd|th|k(?![a-z])|m(?![a-z])|bn)?(?!\d)/gi;

function expandContractions(text: string): string {
  return text
    .replace(/[’‘]/g, "'")
    .replace(/\bwon't\b/gi, "will not")
    .replace(/\bcan't\b/gi, "can not")
    .replace(/\bcannot\b/gi, "can not")
    .replace(/\bshan't\b/gi, "shall not")
    .replace(/n't\b/gi, " not")
    .replace(/'re\b/gi, " are")
    .replace(/'m\b/gi, " am")
    .replace(/'ll\b/gi, " will")
    .replace(/'ve\b/gi, " have")
    .replace(/'d\b/gi, " would")
    .replace(/\b(what|it|that|there|here|who|where|how|when|why|he|she)'s\b/gi, "$1 is")
    .replace(/'s\b/gi, " 's");
}

function numberValue(raw: string, suffix: string | undefined): string {
  const clean = raw.replace(/,/g, "");
  if (/^\d+\.\d+\.\d+/.test(clean)) return clean;
  let value = Number(clean);
  const s = suffix?.toLowerCase();
  if (s === "k") value *= 1000;
  else if (s === "m") value *= 1_000_000;
  else if (s === "bn") value *= 1_000_000_000;
  return String(value);
}

/**
 * The prompt without its leading request frame ("Could you please explain …", "I'd like to know …"), which is
 * replaced by a filler word: what follows keeps its place in the sentence (a capital after it is still a name).
 */
export function stripRequestFrame(text: string): string {
  let inner = text.trim();
  for (const [re, to] of INNER_FRAMES) {
    const next = inner.replace(re, to);
    if (/\p{L}/u.test(next)) inner = next;
  }
  let rest = inner;
  for (let pass = 0; pass < 8; pass++) {
    const before = rest;
    for (const re of REQUEST_FRAMES) rest = rest.replace(re, "");
    if (rest === before) break;
  }
  // Nothing left (the whole prompt was a frame, "Can you help me?"): compare the prompt as it is.
  if (!/\p{L}/u.test(rest)) return text;
  return rest === inner ? inner : `please ${rest}`;
}

/** Analyses a prompt once; the cache keeps nothing of it (it is cheap: tens of microseconds). */
export function analyze(prompt: string): Analysis {
  const text = stripRequestFrame(prompt);
  const quoted: string[] = [];
  let rest = text.replace(QUOTE_RE, (...m: string[]) => {
    const inner = m.slice(1, 6).find((g) => g !== undefined) ?? "";
    quoted.push(inner.trim().toLowerCase());
    return " QUOTED ";
  });

  const code = new Set<string>();
  for (const re of CODE_RES) {
    for (const m of rest.matchAll(re)) {
      // Sentence punctuation left alone after a quote ("… 'x' ?") is not an operator.
      if (!/^[?!:]+$/.test(m[0])) code.add(m[0].toLowerCase().replace(/\(\)$/, ""));
    }
  }

  const units = new Set<string>();
  for (const m of rest.matchAll(/[$€£¥%]|°\s*[CcFf]\b/g)) {
    const sym = m[0].replace(/\s+/g, "").toLowerCase();
    units.add(UNITS[sym] ?? sym);
  }
  rest = expandContractions(rest.replace(/°\s*([CcFf])\b/g, " "));
  // Multi-word expressions fold first (case-insensitively), so "United States" is one name, not two.
  for (const [re, to] of PHRASES_ANY_CASE) rest = rest.replace(re, to);

  // Capitalised words that are not merely sentence-initial are names (France, Python, Marie Curie).
  const entities = new Set<string>();
  let sentenceStart = true;
  for (const w of rest.match(/[\p{L}\p{N}][\p{L}\p{N}'-]*|[.!?]/gu) ?? []) {
    if (/^[.!?]$/.test(w)) {
      sentenceStart = true;
      continue;
    }
    const lower = w.toLowerCase();
    const capitalised = /^\p{Lu}/u.test(w) && w !== "QUOTED" && lower !== "i";
    const common = STOPWORDS.has(lower) || FILLERS.has(lower) || SENTENCE_STARTERS.has(lower);
    // Units and days/months are names too, but their own checks compare them (°C = Celsius).
    const measured = UNITS[lower] !== undefined || TIME_WORDS.has(lower);
    // A capital at the start of a sentence says nothing ("Split a bill …"), unless the word is an acronym.
    const acronym = /^\p{Lu}{2,}$/u.test(w);
    if (capitalised && !measured && !common && (!sentenceStart || acronym)) entities.add(lower.replace(/'s$/, ""));
    sentenceStart = false;
  }

  // Digits become placeholders so that numbers are read in order together with number words.
  const digits: string[] = [];
  let lowered = rest.toLowerCase().replace(/\bquoted\b/g, " ").replace(
    NUMBER_RE,
    (_m, raw: string, suffix?: string) => {
      digits.push(numberValue(raw, suffix));
      return " zznum ";
    },
  );
  // Hyphens inside words carry no meaning for comparison: e-mail = email, two-factor = twofactor.
  lowered = lowered.replace(/(\p{L})-(?=\p{L})/gu, "$1");
  const words = (lowered.match(/[\p{L}]+(?:'s)?/gu) ?? []).map((w) => w.replace(/'s$/, ""));

  // Numbers in reading order: digits, and number words folded into values ("twenty one" = 21). A lone "one" is
  // usually a pronoun ("which one"), so it does not count.
  const numbers: string[] = [];
  let current: number | null = null;
  let currentFromOne = false;
  let digitIndex = 0;
  const flush = () => {
    if (current !== null && !(currentFromOne && current === 1)) numbers.push(String(current));
    current = null;
    currentFromOne = false;
  };
  for (const w of words) {
    if (w === NUM) {
      flush();
      numbers.push(digits[digitIndex++]);
      continue;
    }
    const v = NUMBER_WORDS[w];
    if (v === undefined) {
      if (w !== "and") flush();
      continue;
    }
    if (current === null) {
      current = v;
      currentFromOne = w === "one";
    } else if (v >= 100) current = (current || 1) * v;
    else if (current >= 20 && current % 10 === 0 && v < 10) current += v;
    else if (current >= 100 && v < 100) current += v;
    else {
      flush();
      current = v;
      currentFromOne = w === "one";
    }
    if (w !== "one") currentFromOne = false;
  }
  flush();

  const time = new Set<string>();
  const wh = new Set<string>();
  const gender = new Set<string>();
  const quantifiers = new Set<string>();
  let negated = false;
  let tense: Analysis["tense"] = null;
  let typeNoun: string | undefined;
  words.forEach((w, i) => {
    if (NEGATIONS.has(w)) negated = true;
    // "won't connect" means "refuses to", as "doesn't connect" does: not a future.
    if (FUTURE_AUX.has(w) && words[i + 1] !== "not") tense = "future";
    else if (PAST_AUX.has(w) && tense !== "future") tense = "past";
    else if (PRESENT_AUX.has(w) && tense === null) tense = "present";
    if (STRICT_WH[w]) wh.add(STRICT_WH[w]);
    if (MASCULINE.has(w)) gender.add("m");
    if (FEMININE.has(w)) gender.add("f");
    // "the most popular" is a superlative (compared as an antonym of "least"), "at most" a bound; "most cats" is not.
    const q = QUANTIFIERS[w];
    if (q && !(w === "most" && ["the", "a", "at"].includes(words[i - 1] ?? ""))) quantifiers.add(q);
    if ((w === "which" || w === "what") && typeNoun === undefined) {
      const next = words[i + 1];
      if (next && !STOPWORDS.has(next) && !FILLERS.has(next)) typeNoun = stem(next);
    }
    const unit = UNITS[w];
    // Time spans are units only when counted ("3 days", "how many days", "per day"), not in "what year".
    if (unit && !(TIME_UNITS.has(unit) && !COUNTING.has(words[i - 1] ?? "") && !COUNTING.has(words[i - 2] ?? ""))) {
      units.add(unit);
    }
    if (RELATIVE.has(w) && RELATIVE_NOUNS.has(words[i + 1])) time.add(`${w}:${stem(words[i + 1])}`);
    else if (PRESENT_TIME.has(w)) time.add("now");
    else if (TIME_WORDS.has(w) && !(RELATIVE.has(words[i - 1]) && RELATIVE_NOUNS.has(w))) time.add(stem(w));
  });

  // The significant words in reading order, with "A B of C" read as "C A B" so that "the capital of France"
  // and "France's capital" line up. Each keeps its position among the words, to see what stood between two.
  const significant = (w: string) =>
    w === NUM || !(STOPWORDS.has(w) || FILLERS.has(w) || NEGATIONS.has(w) || FILLER_STEMS.has(stem(w)) || w.length < 2);
  const canon = (w: string) => (w === NUM ? "#" : UNITS[w] ? `u:${UNITS[w]}` : stem(w));
  const stream: StreamToken[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === "of" && stream.length > 0) {
      let j = i + 1;
      while (j < words.length && !significant(words[j]) && words[j] !== "of" && !NEGATIONS.has(words[j])) j++;
      if (j < words.length && significant(words[j])) {
        // The run of significant words right before "of" (adjacent or separated by stop words only).
        let start = stream.length - 1;
        while (
          start > 0 && stream[start - 1].at >= i - 4 && adjacentRun(words, stream[start - 1].at, stream[start].at)
        ) {
          start--;
        }
        if (adjacentRun(words, stream[stream.length - 1].at, i)) {
          stream.splice(start, 0, { token: canon(words[j]), at: j });
          i = j;
          continue;
        }
      }
    }
    if (significant(w)) stream.push({ token: canon(w), at: i });
  }
  const content = new Set<string>();
  for (const w of words) {
    if (!significant(w) || w === NUM) continue;
    if (UNITS[w] || TIME_WORDS.has(w) || NUMBER_WORDS[w] !== undefined) continue;
    if (RELATIVE_NOUNS.has(w) && words.some((x, k) => RELATIVE.has(x) && words[k + 1] === w)) continue;
    content.add(stem(w));
  }

  return {
    quoted,
    code: [...code].sort(),
    numbers,
    units: [...units].sort(),
    time: [...time].sort(),
    entities: [...entities].sort(),
    negated,
    tense,
    wh: [...wh].sort(),
    gender: [...gender].sort(),
    quantifiers: [...quantifiers].sort(),
    typeNoun,
    words,
    stream,
    content,
  };
}

/** Whether only stop words stand between two word positions. */
function adjacentRun(words: readonly string[], from: number, to: number): boolean {
  for (let k = from + 1; k < to; k++) if (!STOPWORDS.has(words[k]) || words[k] === "of") return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sortedCopy(a: readonly string[]): string[] {
  return [...a].sort();
}

/**
 * Whether the significant words of `c` are those of `q` with two of them swapped, in a way that changes the
 * question: the two stood apart ("cat eats mouse" / "mouse eats cat"), or a directional word joined them
 * ("euros to dollars" / "dollars to euros"). Adjacent compounds ("sleep quality" / "quality of sleep", read alike)
 * and symmetric pairs ("Python and Java") may swap.
 */
function swapped(q: Analysis, c: Analysis): boolean {
  const a = q.stream, b = c.stream;
  if (a.length !== b.length || a.length < 2) return false;
  const diff: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i].token !== b[i].token) diff.push(i);
  if (diff.length !== 2) return false;
  const [i, j] = diff;
  if (a[i].token !== b[j].token || a[j].token !== b[i].token) return false;
  const between = (s: Analysis, x: StreamToken, y: StreamToken) =>
    s.words.slice(Math.min(x.at, y.at) + 1, Math.max(x.at, y.at));
  const symmetric = (s: Analysis, x: StreamToken, y: StreamToken) =>
    between(s, x, y).some((w) => w === "and" || w === "or" || w === "vs" || w === "versus" || w === "with");
  if (symmetric(q, a[i], a[j]) || symmetric(c, b[i], b[j])) return false;
  if (j - i > 1) return true;
  // Two units or two numbers side by side are a conversion or an operation: their order is its direction.
  const kind = (t: string) => (t === "#" ? "#" : t.startsWith("u:") ? "u" : "w");
  if (kind(a[i].token) !== "w" && kind(a[i].token) === kind(a[j].token)) return true;
  return between(q, a[i], a[j]).some((w) => DIRECTIONAL.has(w)) ||
    between(c, b[i], b[j]).some((w) => DIRECTIONAL.has(w));
}

function aliasOf(a: string, b: string): boolean {
  const ga = ALIASES.get(a);
  const gb = ALIASES.get(b);
  if (!ga || !gb) return false;
  for (const g of ga) if (gb.has(g)) return true;
  return false;
}

/** Why the content words of one side are not explained by the other side, or null. */
function unexplained(mine: Analysis, other: Analysis): string | null {
  const otherWords = other.words.map(stem);
  const otherJoined = new Set<string>();
  for (let i = 0; i + 1 < other.words.length; i++) otherJoined.add(stem(other.words[i] + other.words[i + 1]));
  const otherStems = new Set(otherWords);
  for (const w of mine.content) {
    if (other.content.has(w)) continue;
    if (FILLER_STEMS.has(w) || STOP_STEMS.has(w)) continue;
    // The kind of thing asked for ("which city is the capital …" / "what is the capital …"), unless the other
    // side asks for a different kind.
    if (w === mine.typeNoun && (other.typeNoun === undefined || mine.content.has(other.typeNoun))) continue;
    let ok = false;
    for (const o of otherStems) {
      if (synonymous(w, o) || aliasOf(w, o)) {
        ok = true;
        break;
      }
    }
    for (const o of other.content) {
      if (ok) break;
      if (spellingVariant(w, o)) {
        ok = true;
        break;
      }
      // A compound on the other side that contains this word and another word of ours (healthcare / health care).
      if (o.length > w.length && (o.startsWith(w) || o.endsWith(w))) {
        const restPart = o.startsWith(w) ? o.slice(w.length) : o.slice(0, o.length - w.length);
        if (mine.content.has(stem(restPart)) || mine.words.includes(restPart)) {
          ok = true;
          break;
        }
      }
    }
    if (!ok && otherJoined.has(w)) ok = true;
    // An agent noun for the other side's verb ("the founder of" / "founded"), only where it is a noun.
    if (!ok && /(?:er|or)$/.test(w) && w.length > 5) {
      const base = stem(w.replace(/(?:er|or)$/, ""));
      const i = mine.words.findIndex((x) => stem(x) === w);
      if (i > 0 && ["the", "a", "an"].includes(mine.words[i - 1]) && otherStems.has(base)) ok = true;
    }
    // Generic code nouns ("the map() function") when both prompts name the same code.
    if (!ok && CODE_NOUNS.has(w) && mine.code.length > 0 && sameList(mine.code, other.code)) ok = true;
    if (!ok && otherWords.includes(w)) ok = true;
    if (!ok) { for (const kind of other.wh) if (WH_RESTATED_STEMS[kind]?.has(w)) ok = true; }
    if (!ok) return w;
  }
  return null;
}

/** Compares two prompts' analyses. */
export function compare(q: Analysis, c: Analysis): Verdict {
  const reject = (reason: RejectReason, detail: string): Verdict => ({ ok: false, reason, detail });
  if (!sameList(sortedCopy(q.quoted), sortedCopy(c.quoted))) return reject("quoted", "quoted strings differ");
  if (!sameList(q.code, c.code)) return reject("code", `code identifiers differ: ${q.code} / ${c.code}`);
  if (!sameList(sortedCopy(q.numbers), sortedCopy(c.numbers))) {
    return reject("number", `numbers differ: ${q.numbers} / ${c.numbers}`);
  }
  if (!sameList(q.units, c.units)) return reject("unit", `units differ: ${q.units} / ${c.units}`);
  if (!sameList(q.time, c.time)) return reject("date", `time words differ: ${q.time} / ${c.time}`);
  if (q.negated !== c.negated) return reject("negation", "one prompt is negated");
  if (q.tense && c.tense && q.tense !== c.tense) return reject("tense", `${q.tense} / ${c.tense}`);
  if (!sameList(q.wh, c.wh)) {
    // "when" and "in what year" ask the same; "where" and "what" do not, unless the other side restates it.
    const restates = (kinds: string[], s: Analysis) =>
      kinds.every((k) => s.words.some((w) => WH_RESTATED_STEMS[k]?.has(stem(w))));
    const onlyQ = q.wh.filter((k) => !c.wh.includes(k));
    const onlyC = c.wh.filter((k) => !q.wh.includes(k));
    if (
      (onlyQ.length && (c.wh.length || !restates(onlyQ, c))) || (onlyC.length && (q.wh.length || !restates(onlyC, q)))
    ) {
      return reject("question_type", `${q.wh} / ${c.wh}`);
    }
  }
  if (q.gender.length && c.gender.length && !sameList(q.gender, c.gender)) return reject("gender", "he / she");
  if (q.quantifiers.length && c.quantifiers.length && !sameList(q.quantifiers, c.quantifiers)) {
    return reject("quantifier", `${q.quantifiers} / ${c.quantifiers}`);
  }
  for (const e of q.entities) {
    if (!c.words.includes(e) && !c.words.some((x) => aliasOf(e, x))) return reject("entity", e);
  }
  for (const e of c.entities) {
    if (!q.words.includes(e) && !q.words.some((x) => aliasOf(e, x))) return reject("entity", e);
  }
  const onlyQ = [...q.content].filter((w) => !c.content.has(w));
  const onlyC = [...c.content].filter((w) => !q.content.has(w));
  for (const a of onlyQ) for (const b of onlyC) if (opposite(a, b)) return reject("antonym", `${a} / ${b}`);
  if (!sameList(q.numbers, c.numbers)) return reject("order", `numbers in another order`);
  if (swapped(q, c)) {
    return reject("order", `${q.stream.map((t) => t.token).join(" ")} / ${c.stream.map((t) => t.token).join(" ")}`);
  }
  const left = unexplained(q, c) ?? unexplained(c, q);
  if (left) return reject("content", `unexplained word: ${left}`);
  return { ok: true };
}

/** The default verifier: the rules above, with a small memo of analyses (cached prompts are seen repeatedly). */
export class RuleVerifier implements Verifier {
  #memo = new Map<string, Analysis>();
  #memoSize: number;

  constructor(options: { memoSize?: number } = {}) {
    this.#memoSize = options.memoSize ?? 2048;
  }

  verify(query: string, cached: string): Verdict {
    return compare(this.#analysis(query), this.#analysis(cached));
  }

  #analysis(text: string): Analysis {
    const hit = this.#memo.get(text);
    if (hit) return hit;
    const a = analyze(text);
    if (this.#memo.size >= this.#memoSize) this.#memo.delete(this.#memo.keys().next().value!);
    this.#memo.set(text, a);
    return a;
  }
}

/** A verifier that accepts every candidate (the threshold alone decides), for measuring and for opting out. */
export const acceptAll: Verifier = { verify: () => ({ ok: true }) };
