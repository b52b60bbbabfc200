import assert from "node:assert/strict";
import { analyze, RuleVerifier, stem } from "../../src/cache/verifier.ts";

const v = new RuleVerifier();

function rejects(a: string, b: string, reason?: string): void {
  const verdict = v.verify(a, b);
  assert.equal(verdict.ok, false, `expected a rejection: "${a}" / "${b}"`);
  if (reason && !verdict.ok) assert.equal(verdict.reason, reason, `"${a}" / "${b}": ${verdict.detail}`);
  // The verdict does not depend on which side is cached.
  assert.equal(v.verify(b, a).ok, false, `expected a rejection both ways: "${b}" / "${a}"`);
}

function accepts(a: string, b: string): void {
  const verdict = v.verify(a, b);
  assert.ok(verdict.ok, `expected acceptance: "${a}" / "${b}": ${!verdict.ok ? verdict.detail : ""}`);
}

Deno.test("verifier accepts rewordings that keep every fact", () => {
  accepts("What is the capital of France?", "What's the capital of France?");
  accepts("How do I reset my password?", "How can I reset my password?");
  accepts("Can you explain what machine learning is?", "What is machine learning?");
  accepts("What is the capital of Australia?", "Which city is Australia's capital?");
  accepts("Give me 5 tips for better sleep", "Give me five tips for better sleep");
  accepts("What is 1,000 divided by 8?", "What is 1000 divided by 8?");
  accepts("Why doesn't my car start?", "Why does my car not start?");
  accepts("How do I turn off notifications?", "How can I disable notifications?");
  accepts("How many kilometers is a marathon?", "How many km is a marathon?");
  accepts("When was the Eiffel Tower built?", "In what year was the Eiffel Tower built?");
  accepts("Where can I buy cheap flights?", "Where can I purchase cheap flights?");
  accepts("How do I improve my sleep quality?", "How do I improve the quality of my sleep?");
});

Deno.test("verifier rejects minimal pairs, each for its reason", () => {
  rejects("What is the capital of France?", "What is the capital of Germany?", "entity");
  rejects("what is the capital of france", "what is the capital of germany", "content");
  rejects("What is 15% of 240?", "What is 15% of 250?", "number");
  rejects("How do I enable two-factor authentication?", "How do I disable two-factor authentication?", "antonym");
  rejects("What's the weather forecast for today?", "What's the weather forecast for tomorrow?", "date");
  rejects("Book a table for Saturday at 7pm", "Book a table for Saturday at 8pm", "number");
  rejects("Why does my car start?", "Why doesn't my car start?", "negation");
  rejects("How to cook rice with a rice cooker", "How to cook rice without a rice cooker", "negation");
  rejects("How many kilometers is a marathon?", "How many miles is a marathon?", "unit");
  rejects("Translate 'good morning' into French", "Translate 'good night' into French", "quoted");
  rejects("How do I use useEffect in React?", "How do I use useState in React?", "code");
  rejects(
    "What is the difference between == and === in JavaScript?",
    "What is the difference between = and == in JavaScript?",
    "code",
  );
  rejects("When was the Eiffel Tower built?", "Where was the Eiffel Tower built?", "question_type");
  rejects("Who is the president of France?", "Who was the president of France?", "tense");
  rejects("Is Paris bigger than London?", "Is London bigger than Paris?", "order");
  rejects("Convert 20 euros to dollars", "Convert 20 dollars to euros", "order");
  rejects("What is 10 minus 3?", "What is 3 minus 10?", "order");
  rejects("How do I install Docker?", "How do I uninstall Docker?", "antonym");
  rejects("Recommend a good book", "Recommend a good horror book", "content");
  rejects("Is he coming to the party?", "Is she coming to the party?", "gender");
});

Deno.test("verifier: symmetric pairs may swap, directional ones may not", () => {
  accepts("Compare Python and JavaScript", "Compare JavaScript and Python");
  rejects("Translate this from English to German", "Translate this from German to English");
});

Deno.test("analysis reads numbers in order, number words included", () => {
  assert.deepEqual(analyze("List the first ten prime numbers").numbers, ["1", "10"]);
  assert.deepEqual(analyze("twenty one pilots and 3.5 stars, 1,200 fans").numbers, ["21", "3.5", "1200"]);
  assert.deepEqual(analyze("Which one is better?").numbers, []);
  assert.deepEqual(analyze("a 2k budget").numbers, ["2000"]);
});

Deno.test("stemming maps inflections together without merging news into new", () => {
  assert.equal(stem("movies"), stem("movie"));
  assert.equal(stem("making"), stem("make"));
  assert.equal(stem("cities"), stem("city"));
  assert.notEqual(stem("news"), stem("new"));
});

Deno.test("verifier never throws on odd input", () => {
  for (const text of ["", "   ", "?!?", "'", '"', "`", "😀 🚀", "a".repeat(5000), "1,2,3,4,5", "--", "=>"]) {
    v.verify(text, "What is the capital of France?");
    v.verify("What is the capital of France?", text);
  }
});

Deno.test("verifier: a request frame around a question does not change it", () => {
  accepts("Could you please explain how a heat pump works?", "How does a heat pump work?");
  accepts("I'd like to know how to remove rust from a bike chain.", "How do I remove rust from a bike chain?");
  accepts("I was wondering what a notary public does.", "What does a notary public do?");
  accepts("Will you tell me what the speed of sound is?", "What is the speed of sound?");
  accepts("Hey, can you help me understand how vaccines work?", "How do vaccines work?");
  accepts("Would you mind explaining what an ETF is?", "What is an ETF?");
  accepts("Could you summarise the causes of the Great Depression?", "What were the causes of the Great Depression?");
  accepts("Do you know why cats purr?", "Why do cats purr?");
  // The frame goes, the name after it stays a name: "Python" against "Ruby" still rejects as an entity.
  rejects("Can you tell me what Python is used for?", "What is Ruby used for?");
  // The frame hides no fact: a changed number, date, negation or opposite still rejects.
  rejects("Could you tell me the population of Chile in 2010?", "What was the population of Chile in 2020?", "number");
  rejects("Please explain how to enable dark mode.", "How do I disable dark mode?", "antonym");
  rejects("I'd like to know why my phone charges.", "Why doesn't my phone charge?", "negation");
  rejects("Can you tell me the weather in Oslo tomorrow?", "What is the weather in Oslo today?", "date");
  // A frame is read at the start only; the same words later in a prompt are compared as usual.
  rejects("How do I tell my boss I quit?", "How do I quit?");
  // A prompt that is nothing but a frame is compared as it is.
  accepts("Can you help me?", "Could you help me?");
  // Framing inside or at the end: "what do you think is", "in your opinion", "thanks in advance".
  accepts("What do you think is the best way to learn Spanish?", "What is the best way to learn Spanish?");
  accepts(
    "Which laptop should I buy for video editing, in your opinion?",
    "Which laptop should I buy for video editing?",
  );
  accepts("How do I reset a Nest thermostat? Thanks in advance!", "How do I reset a Nest thermostat?");
  rejects("What do you think about Kubernetes?", "What is Kubernetes?");
  // "thanks" is a frame only as a sentence of its own.
  rejects("How do I say thanks in Italian", "How do I say cheers in Italian");
  rejects("How do I say thanks", "How do I say cheers");
  rejects("In your opinion, is Vue faster than React?", "Is React faster than Vue?", "order");
});

Deno.test("verifier: quantifiers of different kinds reject, one-sided ones do not", () => {
  rejects("Are all whales mammals?", "Are some whales mammals?", "quantifier");
  rejects("Do most people snore?", "Do all people snore?", "quantifier");
  rejects("Do any reptiles give live birth?", "Do all reptiles give live birth?", "quantifier");
  rejects("How much does each ticket cost?", "How much do all the tickets cost?", "quantifier");
  accepts("Give me some ideas for a birthday party.", "Give me ideas for a birthday party.");
  accepts("Are all whales mammals?", "Are whales mammals?");
  // "the most" is a superlative, compared with "least" as an opposite, not a quantifier.
  accepts("What is the most popular sport in Brazil?", "Which is the most popular sport in Brazil?");
  rejects("What is the most popular sport in Brazil?", "What is the least popular sport in Brazil?", "antonym");
});

Deno.test("verifier: no request frame turns a minimal pair into a hit", () => {
  const frames = [
    "Could you please tell me ",
    "Can you explain ",
    "I'd like to know ",
    "I was wondering ",
    "Hey, do you happen to know ",
    "Please, ",
    "Would you mind explaining ",
    "Quick question: ",
  ];
  // Minimal pairs whose first prompt starts with a question word or verb that reads on after a frame.
  const pairs: [string, string][] = [
    ["what is the capital of France?", "What is the capital of Germany?"],
    ["what is 15% of 240?", "What is 15% of 250?"],
    ["how to enable two-factor authentication", "How do I disable two-factor authentication?"],
    ["what the weather forecast is for today", "What's the weather forecast for tomorrow?"],
    ["why my car doesn't start", "Why does my car start?"],
    ["how many kilometers a marathon is", "How many miles is a marathon?"],
    ["how to use useEffect in React", "How do I use useState in React?"],
    ["when the Eiffel Tower was built", "Where was the Eiffel Tower built?"],
    ["whether Paris is bigger than London", "Is London bigger than Paris?"],
    ["whether all snakes are venomous", "Are some snakes venomous?"],
    ["who the president of France was", "Who is the president of France?"],
  ];
  // Every frame with every pair, both ways round.
  for (const frame of frames) {
    for (const [a, b] of pairs) {
      assert.equal(v.verify(frame + a, b).ok, false, `"${frame + a}" / "${b}"`);
      assert.equal(v.verify(b, frame + a).ok, false, `"${b}" / "${frame + a}"`);
    }
  }
});
