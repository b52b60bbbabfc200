/**
 * Word lists of the semantic verifier. They are deliberately general English (function words, common
 * paraphrase synonyms, antonym pairs, units, date words), not tuned to any evaluation set: the verifier must
 * hold on prompts nobody has seen.
 *
 * @module
 */

/** Function words: they carry grammar, not the subject of a question. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  ("a an the of in on at to for from by with about as into onto through via per and or but if so than then " +
    "is are am be been being was were do does did done doing has have had having will shall would " +
    "i me my mine myself we us our ours you your yours yourself they them their theirs it its itself " +
    "this that these those there here what which how whom whose who when where why " +
    "he him his she her hers himself herself one ones someone something anything everything among between " +
    "s t d ll ve re m").split(/\s+/),
);

/**
 * Words whose presence or absence does not change what is asked: politeness, request verbs, hedges and generic
 * nouns of "how to" questions. A differing content word on this list is explained; any other is not.
 */
export const FILLERS: ReadonlySet<string> = new Set(
  ("please kindly could can may might should must would need needs needed want wants wanted like " +
    "tell telling explain explaining describe describing show give provide share define definition meaning mean " +
    "know knowing understand learn wonder wondering curious question help let " +
    "way ways step steps process procedure method methods guide instructions instruction tip tips " +
    "best good proper correct exactly actually really just basically simply generally typically usually " +
    "detail details detailed information info overview thing things stuff some any all every " +
    "also ever anyway ok okay hey hi hello thanks thank quick quickly briefly short brief simple " +
    "find get make do go take use possible able happen happens happening event events " +
    "calculate compute determine evaluate " +
    "called named name term number main primary key major common " +
    "i'm im").split(/\s+/),
);

/** Question words whose kind of answer differs (a "when" answer never answers a "where" question). */
export const STRICT_WH: Readonly<Record<string, string>> = {
  who: "person",
  whom: "person",
  whose: "person",
  when: "time",
  where: "place",
  why: "reason",
};

/** Content words that restate a strict question word ("in what year" = "when"). */
export const WH_RESTATED: Readonly<Record<string, readonly string[]>> = {
  person: ["person", "people", "someone", "man", "woman", "team", "company", "country", "organization", "group"],
  time: ["year", "time", "date", "day", "century", "decade", "month", "period", "era"],
  place: ["place", "location", "locate", "located", "country", "city", "area", "region", "site"],
  reason: ["reason", "reasons", "cause", "causes", "purpose"],
};

/** Words of negation; expanded contractions (n't) become `not`. */
export const NEGATIONS: ReadonlySet<string> = new Set([
  "not",
  "no",
  "never",
  "without",
  "none",
  "nobody",
  "nothing",
  "neither",
  "nor",
  "nowhere",
  "cannot",
]);

/** Groups of interchangeable words (common paraphrase synonyms). */
export const SYNONYM_GROUPS: readonly string[] = [
  "buy purchase",
  "big large huge",
  "biggest largest",
  "bigger larger",
  "small little tiny",
  "smallest tiniest",
  "fast quick rapid speedy",
  "fastest quickest",
  "faster quicker",
  "fix repair correct",
  "fix resolve solve troubleshoot",
  "make create build",
  "make prepare cook",
  "start begin launch commence",
  "end finish",
  "change modify alter edit update adjust",
  "delete remove erase",
  "show display",
  "get obtain acquire receive",
  "use utilize employ",
  "help assist aid",
  "choose select pick",
  "car automobile",
  "movie film",
  "doctor physician",
  "child kid",
  "children kids",
  "job occupation",
  "error issue problem",
  "mistake error",
  "picture photo image",
  "phone smartphone cellphone mobile",
  "price cost",
  "cheap inexpensive affordable",
  "expensive costly pricey",
  "happy glad",
  "smart intelligent clever",
  "beautiful pretty lovely",
  "hard difficult",
  "easy simple",
  "answer reply respond response",
  "ask inquire",
  "talk speak",
  "write compose draft",
  "place location",
  "city town",
  "shop store",
  "house home",
  "sick ill",
  "correct right accurate",
  "wrong incorrect",
  "benefit advantage pro",
  "disadvantage drawback con downside",
  "cause reason",
  "symptom sign",
  "enable activate",
  "disable deactivate",
  "increase raise boost",
  "decrease reduce lower lessen",
  "improve enhance",
  "maximum max",
  "minimum min",
  "tall height",
  "far distance",
  "weigh weight",
  "old age",
  "born birth",
  "die death",
  "recommend suggest",
  "website site webpage",
  "internet web online",
  "computer pc",
  "email mail",
  "money cash",
  "author writer write wrote",
  "invent inventor",
  "discover discovery",
  "release launch",
  "locate located location",
  "population people live",
  "spoken speak",
  "currency money",
  "cancel terminate",
  "subscription membership",
  "purpose goal aim",
  "study learn",
  "happen occur",
  "vehicle car",
  "quality good",
  "summarize summary",
  "forecast prediction",
  "current now today",
  "instruction direction",
  "gift present",
  "bike bicycle",
  "tv television",
  "fridge refrigerator",
  "sofa couch",
  "trash garbage rubbish",
  "vacation holiday",
  "airplane plane aeroplane aircraft",
  "mom mother mum",
  "dad father",
  "illness disease sickness",
  "medicine medication",
  "exam examination",
  "teacher instructor",
  "lawyer attorney",
  "rich wealthy",
  "scared afraid frightened",
  "funny humorous",
  "split divide",
  "shut close",
];

/** Pairs of opposites: if one text has one side and the other text the other side, they ask different things. */
export const ANTONYM_PAIRS: readonly [string, string][] = ([
  "enable disable",
  "activate deactivate",
  "increase decrease",
  "increase reduce",
  "raise lower",
  "before after",
  "max min",
  "maximum minimum",
  "maximize minimize",
  "buy sell",
  "add remove",
  "add subtract",
  "install uninstall",
  "start stop",
  "open close",
  "upload download",
  "import export",
  "encrypt decrypt",
  "encode decode",
  "compress decompress",
  "push pull",
  "on off",
  "up down",
  "in out",
  "lock unlock",
  "connect disconnect",
  "show hide",
  "expand collapse",
  "input output",
  "client server",
  "frontend backend",
  "upper lower",
  "uppercase lowercase",
  "horizontal vertical",
  "forward backward",
  "previous next",
  "first last",
  "light dark",
  "hot cold",
  "warm cool",
  "high low",
  "higher lower",
  "highest lowest",
  "more less",
  "more fewer",
  "most least",
  "best worst",
  "better worse",
  "good bad",
  "pro con",
  "advantage disadvantage",
  "benefit drawback",
  "cheap expensive",
  "cheapest expensive",
  "cheaper expensive",
  "true false",
  "yes no",
  "win lose",
  "gain lose",
  "accept reject",
  "allow deny",
  "allow block",
  "include exclude",
  "inside outside",
  "above below",
  "over under",
  "left right",
  "north south",
  "east west",
  "old new",
  "old young",
  "oldest newest",
  "big small",
  "large small",
  "long short",
  "early late",
  "positive negative",
  "ascending descending",
  "asc desc",
  "synchronous asynchronous",
  "sync async",
  "male female",
  "man woman",
  "men women",
  "boy girl",
  "husband wife",
  "father mother",
  "son daughter",
  "brother sister",
  "king queen",
  "send receive",
  "enter exit",
  "arrive depart",
  "arrival departure",
  "success failure",
  "legal illegal",
  "safe dangerous",
  "like dislike",
  "love hate",
  "agree disagree",
  "public private",
  "internal external",
  "local remote",
  "static dynamic",
  "mutable immutable",
  "even odd",
  "borrow lend",
  "credit debit",
  "profit loss",
  "rise fall",
  "fast slow",
  "faster slower",
  "fastest slowest",
  "strong weak",
  "heavy light",
  "wet dry",
  "rich poor",
  "richest poorest",
  "beginner advanced",
  "beginner expert",
  "morning evening",
  "morning afternoon",
  "afternoon evening",
  "today tomorrow",
  "today yesterday",
  "tomorrow yesterday",
  "tonight tomorrow",
  "this next",
  "this last",
  "next last",
  "plus minus",
  "multiply divide",
  "since until",
  "from to",
  "for against",
  "with without",
  "inhale exhale",
  "sunrise sunset",
  "join leave",
  "hire fire",
  "follow unfollow",
  "subscribe unsubscribe",
  "mount unmount",
  "attach detach",
  "major minor",
  "rare common",
  "zoom unzoom",
  "merge split",
  "mute unmute",
  "strength weakness",
] as const).map((p) => p.split(" ") as [string, string]);

/** Prefixes that turn a word into its opposite (install → uninstall, possible → impossible). */
export const NEGATING_PREFIXES: readonly string[] = ["un", "dis", "in", "im", "il", "ir", "de", "non", "anti", "mis"];

/** Unit words and symbols, mapped to one canonical unit each. */
export const UNITS: Readonly<Record<string, string>> = Object.fromEntries(
  ([
    ["km", "km kilometer kilometers kilometre kilometres kms"],
    ["m", "meter meters metre metres"],
    ["cm", "cm centimeter centimeters centimetre centimetres"],
    ["mm", "mm millimeter millimeters millimetre millimetres"],
    ["mi", "mi mile miles"],
    ["ft", "ft foot feet"],
    ["in", "inch inches"],
    ["yd", "yd yard yards"],
    ["kg", "kg kgs kilogram kilograms kilo kilos"],
    ["g", "gram grams gr"],
    ["mg", "mg milligram milligrams"],
    ["lb", "lb lbs pound pounds"],
    ["oz", "oz ounce ounces"],
    ["l", "liter liters litre litres"],
    ["ml", "ml milliliter milliliters millilitre millilitres"],
    ["gal", "gal gallon gallons"],
    ["pt", "pint pints"],
    ["qt", "quart quarts"],
    ["cup", "cup cups"],
    ["tbsp", "tbsp tablespoon tablespoons"],
    ["tsp", "tsp teaspoon teaspoons"],
    ["c", "celsius centigrade °c"],
    ["f", "fahrenheit °f"],
    ["k", "kelvin"],
    ["usd", "usd dollar dollars $ bucks"],
    ["eur", "eur euro euros €"],
    ["gbp", "gbp £ sterling"],
    ["jpy", "jpy yen ¥"],
    ["inr", "inr rupee rupees"],
    ["cny", "cny yuan rmb"],
    ["btc", "btc bitcoin bitcoins"],
    ["s", "seconds sec secs"],
    ["min", "minute minutes mins"],
    ["h", "hour hours hr hrs"],
    ["day", "day days"],
    ["week", "week weeks"],
    ["month", "month months"],
    ["year", "year years yr yrs"],
    ["b", "byte bytes"],
    ["kb", "kb kilobyte kilobytes"],
    ["mb", "mb megabyte megabytes"],
    ["gb", "gb gigabyte gigabytes"],
    ["tb", "tb terabyte terabytes"],
    ["mph", "mph"],
    ["kmh", "kmh kph km/h"],
    ["w", "watt watts"],
    ["kw", "kw kilowatt kilowatts"],
    ["kwh", "kwh"],
    ["v", "volt volts"],
    ["a", "amp amps ampere amperes"],
    ["hz", "hz hertz"],
    ["ghz", "ghz gigahertz"],
    ["cal", "calorie calories kcal"],
    ["pct", "percent percentage %"],
    ["atm", "atm atmosphere atmospheres"],
    ["psi", "psi"],
    ["acre", "acre acres"],
    ["ha", "hectare hectares"],
  ] as const).flatMap(([unit, words]) => words.split(" ").map((w) => [w, unit])),
);

/** Words that fix a point or span in time; two texts must name the same ones. */
export const TIME_WORDS: ReadonlySet<string> = new Set(
  ("today tomorrow yesterday tonight now currently current morning afternoon evening night noon midnight " +
    "weekend weekday ago later recent recently " +
    "monday tuesday wednesday thursday friday saturday sunday " +
    "january february april june july august september october november december " +
    "jan feb apr jun jul aug sep sept oct nov dec spring summer autumn winter " +
    "daily weekly monthly yearly annual annually quarterly hourly").split(/\s+/),
);

/** Time words that mean "at present" and may replace one another. */
export const PRESENT_TIME: ReadonlySet<string> = new Set(["now", "currently", "current"]);

/** Number words, to compare "five" with "5". */
export const NUMBER_WORDS: Readonly<Record<string, number>> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
  hundred: 100,
  thousand: 1000,
  million: 1_000_000,
  billion: 1_000_000_000,
  dozen: 12,
  first: 1,
  second: 2,
  third: 3,
  fourth: 4,
  fifth: 5,
  sixth: 6,
  seventh: 7,
  eighth: 8,
  ninth: 9,
  tenth: 10,
  twice: 2,
  half: 0.5,
  double: 2,
  triple: 3,
};

/** Pronouns and nouns with a grammatical gender; a he/she swap changes the question. */
export const MASCULINE: ReadonlySet<string> = new Set(["he", "him", "his", "himself"]);
/** See {@linkcode MASCULINE}. */
export const FEMININE: ReadonlySet<string> = new Set(["she", "her", "hers", "herself"]);

/** Auxiliaries that set a question's tense. */
export const PAST_AUX: ReadonlySet<string> = new Set(["was", "were", "did", "had"]);
/** See {@linkcode PAST_AUX}. */
export const PRESENT_AUX: ReadonlySet<string> = new Set(["is", "are", "am", "do", "does", "has", "have"]);
/** See {@linkcode PAST_AUX}. */
export const FUTURE_AUX: ReadonlySet<string> = new Set(["will", "shall"]);

/** Multi-word expressions folded into one token before comparison. */
export const PHRASES: readonly [RegExp, string][] = [
  [/\b(?:log|sign)\s+(?:in|into|on)\b/g, "login"],
  [/\b(?:log|sign)\s+(?:out|off)\b/g, "logout"],
  [/\bsign\s+up\b/g, "signup"],
  [/\bset\s+up\b/g, "setup"],
  [/\bturn\s+on\b/g, "enable"],
  [/\bswitch\s+on\b/g, "enable"],
  [/\bturn\s+off\b/g, "disable"],
  [/\bswitch\s+off\b/g, "disable"],
  [/\bhow\s+come\b/g, "why"],
  [/\b(?:right\s+now|at\s+the\s+moment|at\s+present|these\s+days|nowadays)\b/g, "now"],
  [/\b(?:a\s+lot\s+of|lots\s+of)\b/g, "many"],
  [/\bin\s+order\s+to\b/g, "to"],
  [/\bgoing\s+to\b(?=\s+\w)/g, "will"],
  [/\bgonna\b/g, "will"],
  [/\bwanna\b/g, "want to"],
  [/\bhow\s+to\b/g, "how do i"],
  [/\bpros\s+and\s+cons\b/g, "advantages and disadvantages"],
  [/\bunited\s+states(?:\s+of\s+america)?\b/g, "usa"],
  [/\bunited\s+kingdom\b/g, "uk"],
  [/\bnew\s+york\s+city\b/g, "nyc"],
  [/\bsecond\s+world\s+war\b/g, "world war ii"],
  [/\bfirst\s+world\s+war\b/g, "world war i"],
  [/\bww2\b|\bwwii\b/g, "world war ii"],
  [/\bww1\b|\bwwi\b/g, "world war i"],
];

/** Aliases of the same entity. */
export const ENTITY_ALIASES: readonly string[] = ["usa us america", "uk britain", "nyc", "ai"];

/**
 * Request framing at the start of a prompt: politeness and "tell me / I'd like to know" clauses that wrap a
 * question without changing it ("Could you please explain how X works?" asks "How does X work?"). The verifier
 * replaces a leading frame with a filler before it compares, so that the frame's words, its tense ("I was
 * wondering …", "Will you tell me …") and its capitals do not count. Applied repeatedly from the start only; a
 * frame word in the middle of a prompt is compared as usual.
 */
export const REQUEST_FRAMES: readonly RegExp[] = [
  // Greetings and openers: "Hey,", "Hi there!", "Quick question:".
  /^(?:hey|hi|hello|ok|okay|so|um|hmm)(?:\s+there)?\s*[,!.:-]?\s+/i,
  /^(?:quick\s+)?question\s*[,:.-]\s*/i,
  /^q\s*:\s*/i,
  /^please\s*,?\s+/i,
  // "Could you (please) …", "Would you be able to …", "Would you mind …" (followed by a frame verb below).
  /^(?:could|can|would|will)\s+(?:you|u)\s+(?:please\s+|kindly\s+|possibly\s+|maybe\s+|just\s+)*(?:be\s+able\s+to\s+)?(?=(?:tell|explain|describe|summari[sz]e|outline|clarify|give|show|help|walk|let|remind|mind)\b)/i,
  /^(?:would\s+you\s+)?mind\s+(?=(?:telling|explaining|describing|summari[sz]ing|showing|giving)\b)/i,
  // The frame verbs themselves: "tell me (about)", "explain (to me)", "help me understand", "walk me through".
  /^(?:tell|telling)\s+me(?:\s+about)?\s*[,:]?\s+/i,
  /^(?:explain|explaining|describe|describing|clarify)(?:\s+to\s+me)?\s*[,:]?\s+(?:(?:in\s+)?(?:simple|plain)\s+(?:terms|words|english)\s*[,:]?\s+)?/i,
  /^(?:summari[sz]e|summari[sz]ing|outline)(?:\s+for\s+me)?\s+/i,
  /^(?:give|giving|show|showing)\s+me\s+(?=(?:how|what|why|when|where|who|which|an?\s+(?:overview|summary|explanation|rundown)\s+of)\b)/i,
  /^(?:an?\s+(?:overview|summary|explanation|rundown)\s+of)\s+/i,
  /^help\s+me\s+(?:to\s+)?(?:understand|figure\s+out|work\s+out|find\s+out|learn)\s+/i,
  /^walk\s+me\s+through\s+/i,
  /^let\s+me\s+know\s+/i,
  // "Do you (happen to) know …", "Any idea …", "Can I ask …".
  /^(?:do|would)\s+(?:you|u)\s+(?:happen\s+to\s+)?know\s+(?:about\s+)?/i,
  /^any\s+idea\s+(?:about\s+)?/i,
  /^(?:can|could|may)\s+i\s+ask\s+(?:you\s+)?/i,
  // "I'd like to know …", "I want to understand …", "I was wondering …", "I'm trying to figure out …".
  /^i(?:'d|’d|\s+would)\s+(?:like|love)\s+to\s+(?:know|understand|learn|find\s+out|hear)\s+(?:about\s+)?/i,
  /^i\s+(?:want|need|wish|hope)\s+to\s+(?:know|understand|learn|find\s+out)\s+(?:about\s+)?/i,
  /^i\s+need\s+help\s+(?:with|understanding|figuring\s+out)\s+/i,
  /^i(?:'m|’m|\s+am|\s+was)\s+(?:wondering|curious|trying\s+to\s+(?:understand|figure\s+out|work\s+out|find\s+out|learn))\s+(?:about\s+|if\s+|whether\s+)?/i,
  /^i\s+wonder\s+(?:if\s+|whether\s+)?/i,
  // "In your opinion, …", "Honestly, …".
  /^in\s+your\s+(?:opinion|view|experience)\s*[,:]?\s+/i,
  /^(?:honestly|seriously|basically)\s*,\s*/i,
];

/**
 * Framing inside or at the end of a prompt, removed wherever it stands: "What do you think is the best …" asks
 * "What is the best …"; "…, thanks in advance!" and "…, in your opinion?" add nothing. Each pattern is replaced
 * by its first group (or nothing).
 */
export const INNER_FRAMES: readonly [RegExp, string][] = [
  [
    /\b(what|which|who|where|when|why|how)\s+do\s+you\s+think\s+(?=(?:is|are|was|were|will|would|should|could|can|the|a|an|it|they|i)\b)/gi,
    "$1 ",
  ],
  [/\s*,?\s*\bin\s+your\s+(?:opinion|view|experience)\b/gi, ""],
  // Only as a sentence of its own: "How do I say thanks?" asks about the word, "… passport? Thanks!" thanks.
  [/(?<=[?.!])\s*(?:thanks|thank\s+you|thx|cheers)(?:\s+(?:so|very)\s+much)?(?:\s+in\s+advance)?\s*[.!]*\s*$/gi, ""],
];

/**
 * Quantifiers by kind: "Are all snakes venomous?" and "Are some snakes venomous?" have different answers. Two
 * prompts that both quantify must quantify alike; a prompt without a quantifier may match either ("Give me some
 * tips" / "Give me tips"). `no`/`none` are negations, compared as such.
 */
export const QUANTIFIERS: Readonly<Record<string, string>> = {
  all: "all",
  every: "all",
  everyone: "all",
  everybody: "all",
  always: "all",
  each: "each",
  some: "some",
  any: "some",
  several: "some",
  few: "some",
  sometimes: "some",
  someone: "some",
  anyone: "some",
  most: "most",
  mostly: "most",
  majority: "most",
  usually: "most",
};
