#!/usr/bin/python3
"""Deterministic corpus of tiny children's stories for the demo model.

No external text: every story comes from the small template grammar below,
driven by a seeded random.Random, so the same seed always gives the same
bytes. The grammar is built so that attention patterns are easy to see:

* each story has two named characters, two or three things each with its
  own adjective ("a red ball and a blue kite"), a place and sometimes an
  animal; all of them are mentioned again and again, so a head can look
  back at an earlier mention and copy it (after "the blue" comes "kite",
  found by looking at what followed "blue" before);
* pronouns (he/she, him/her, his/her, it) refer back to the last mentioned
  character or object;
* in most stories the two play a naming game: one lists random things
  ("i can see a red fox, a tiny cup and a blue owl") and the other repeats
  the list word for word, which only looking back can predict (this is what
  makes previous-token and induction heads worth learning);
* adjective-noun and subject-verb structure, with ". , ! ?" as tokens.

Usage as a module:
    from make_corpus import generate_corpus, tokenize, build_vocab
Usage as a script (prints the corpus, one story per line):
    /usr/bin/python3 scripts/make_corpus.py [--seed N] [--stories N] [--out FILE]
"""

import argparse
import random
import re
import sys

BOS = "<bos>"
UNK = "<unk>"
TOKEN_RE = re.compile(r"[a-z']+|[.,!?]")

GIRLS = ["lily", "anna", "mia", "lucy", "sue", "emma", "sara", "kim", "amy", "zoe", "rose", "jane", "ella", "nora"]
BOYS = ["tom", "ben", "sam", "max", "jack", "leo", "tim", "dan", "bob", "joe", "finn", "luke", "noah", "paul"]
ANIMALS = ["dog", "cat", "bird", "frog", "duck", "bunny", "fox", "bear", "fish", "mouse", "owl", "pig", "goat", "cow"]
OBJECTS = ["ball", "kite", "doll", "box", "cake", "book", "hat", "boat", "drum", "cup", "apple", "flower", "car",
           "train", "shoe", "stone", "stick", "key", "bell", "ring", "map", "shell", "leaf", "toy", "bag", "coat"]
OBJ_ADJS = ["red", "blue", "green", "yellow", "pink", "white", "black", "orange", "gold", "silver", "shiny", "soft",
            "funny", "pretty", "round", "tiny", "striped", "spotted"]
ANIMAL_ADJS = ["big", "little", "small", "funny", "brown", "grey", "fat", "fast", "silly", "sleepy"]
HOUSE_ADJS = ["big", "little", "small", "old", "new", "warm"]
PLACES = ["park", "garden", "house", "forest", "beach", "school", "shop", "farm", "river", "hill", "yard", "lake",
          "woods", "town"]
HIDES = ["a tree", "a rock", "the bed", "a bush", "the table", "a big leaf", "the box", "the bridge"]
FEELINGS_GOOD = ["happy", "glad", "excited", "proud"]
FEELINGS_BAD = ["sad", "scared", "angry", "upset"]
FAMILY = ["mom", "dad", "grandma", "grandpa"]
WEATHER = ["the sun was warm", "the sky was blue", "it was a sunny day", "it was a cold day", "the wind was strong",
           "the birds sang in the trees", "it began to rain", "the grass was green and soft"]
PLAYS = ["played with", "looked at", "held", "carried"]
MOVES = ["ran", "walked", "went", "hopped", "jumped"]


def a(word):
    """The indefinite article for the word that follows."""
    return "an" if word[0] in "aeiou" else "a"


class Character:
    def __init__(self, name, girl):
        self.name = name
        self.girl = girl
        self.subj = "she" if girl else "he"
        self.obj = "her" if girl else "him"
        self.pos = "her" if girl else "his"
        self.kind = "girl" if girl else "boy"


class Story:
    """One story: its cast, its things, its sentences, and who was mentioned last.

    The hero owns two or three things, each with its own adjective ("a red ball,
    a blue kite and a green hat"); later sentences name them again ("the blue
    kite"), so the word after an adjective can be copied from its first mention.
    The two characters always appear in the same order in "x and y"."""

    def __init__(self, rng):
        self.rng = rng
        g1, g2 = rng.random() < 0.5, rng.random() < 0.5
        n1 = rng.choice(GIRLS if g1 else BOYS)
        n2 = rng.choice([n for n in (GIRLS if g2 else BOYS) if n != n1])
        self.hero = Character(n1, g1)
        self.friend = Character(n2, g2)
        k = 2 if rng.random() < 0.5 else 3
        self.things = list(zip(rng.sample(OBJ_ADJS, k), rng.sample(OBJECTS, k)))
        self.place = rng.choice(PLACES)
        self.place2 = rng.choice([p for p in PLACES if p != self.place])
        self.animal = rng.choice(ANIMALS)
        self.animal_adj = rng.choice(ANIMAL_ADJS)
        self.family = rng.choice(FAMILY)
        self.last = None          # character mentioned last as a subject
        self.sentences = []

    # A character as a subject: the pronoun when it was the last subject and
    # the other character does not share the pronoun, sometimes; else the name.
    def subj(self, c):
        other = self.friend if c is self.hero else self.hero
        use_pronoun = self.last is c and (other.girl != c.girl or self.rng.random() < 0.3)
        self.last = c
        return c.subj if use_pronoun and self.rng.random() < 0.65 else c.name

    def objref(self, c, speaker):
        """c as an object of a sentence whose subject is speaker."""
        if c.girl != speaker.girl and self.rng.random() < 0.5:
            return c.obj
        return c.name

    def house_np(self):
        adj = self.rng.choice(HOUSE_ADJS)
        return f"{a(adj)} {adj} house"

    def thing_list(self):
        """All the things, with "a"/"an": "a red ball, a blue kite and a green hat"."""
        parts = [f"{a(adj)} {adj} {noun}" for adj, noun in self.things]
        return ", ".join(parts[:-1]) + " and " + parts[-1]

    def np(self, thing, det="the", bare=0.15):
        """A thing as "the blue kite", sometimes just "the kite"."""
        adj, noun = thing
        return f"{det} {noun}" if self.rng.random() < bare else f"{det} {adj} {noun}"

    def pick(self, avoid=None):
        return self.rng.choice([t for t in self.things if t is not avoid])

    def both(self):
        return f"{self.hero.name} and {self.friend.name}"

    def say(self, s):
        self.sentences.append(s)

    # ---------------------------------------------------------------- episodes

    def opening(self):
        h, r = self.hero, self.rng
        k = r.randrange(4)
        if k == 0:
            self.say(f"once upon a time, there was a {r.choice(['little', 'small', 'kind', 'happy'])} {h.kind} "
                     f"named {h.name}.")
        elif k == 1:
            self.say(f"{h.name} was a {r.choice(['little', 'kind', 'happy', 'funny'])} {h.kind} who lived near "
                     f"the {self.place}.")
        elif k == 2:
            self.say(f"one day, {h.name} went to the {self.place} with {h.pos} {self.family}.")
        else:
            self.say(f"once upon a time, {h.name} and {h.pos} {self.family} lived in {self.house_np()}.")
        self.last = h
        if r.random() < 0.3:
            self.say(f"{r.choice(WEATHER)}.")

    def get_things(self):
        h, r = self.hero, self.rng
        k = r.randrange(4)
        if k == 0:
            self.say(f"{self.subj(h)} found {self.thing_list()} under {r.choice(HIDES)}.")
        elif k == 1:
            self.say(f"{self.subj(h)} had {self.thing_list()}.")
        elif k == 2:
            self.say(f"{h.pos} {self.family} gave {h.obj} {self.thing_list()}.")
            self.last = None
        else:
            self.say(f"at the {self.place}, {self.subj(h)} saw {self.thing_list()}.")
        self.favourite = self.pick()
        k = r.randrange(4)
        if k == 0:
            self.say(f"{self.subj(h)} liked {self.np(self.favourite)} best.")
        elif k == 1:
            self.say(f"{self.subj(h)} {r.choice(PLAYS)} {self.np(self.favourite)} all day.")
        elif k == 2:
            self.say(f"{self.np(self.favourite)} was {h.pos} best toy.")
        else:
            self.say(f"{self.subj(h)} loved {self.np(self.favourite, h.pos)}.")

    def echo(self):
        """A naming game: the friend repeats the hero's list word for word. The
        list is random, so the second copy can only be predicted by looking at
        the first one (what followed this word last time?)."""
        h, f, r = self.hero, self.friend, self.rng
        k = r.choice([3, 4, 5])
        nouns = r.sample(OBJECTS + ANIMALS, k)
        adjs = [r.choice(OBJ_ADJS + ANIMAL_ADJS) for _ in nouns]
        parts = [f"{a(adj)} {adj} {noun}" for adj, noun in zip(adjs, nouns)]
        seen = ", ".join(parts[:-1]) + " and " + parts[-1]
        self.say(f"{self.both()} played a game.")
        self.last = None
        self.say(f"{self.subj(h)} said, i can see {seen}.")
        self.say(f"{self.subj(f)} said, i can see {seen} too!")

    def arrive(self):
        h, f, r = self.hero, self.friend, self.rng
        k = r.randrange(3)
        if k == 0:
            self.say(f"then {self.subj(f)} came to the {self.place}.")
        elif k == 1:
            self.say(f"{self.subj(h)} saw {h.pos} friend {f.name}.")
            self.last = f
        else:
            self.say(f"{self.subj(f)} {r.choice(MOVES)} to {h.name}.")

    def ask(self):
        f, r = self.friend, self.rng
        self.wanted = self.pick()
        if r.random() < 0.5:
            self.say(f"{self.subj(f)} saw {self.np(self.wanted)}.")
        self.say(f"{self.subj(f)} asked, can i play with {self.np(self.wanted, bare=0.05)}?")

    def share(self):
        h, f, r = self.hero, self.friend, self.rng
        if r.random() < 0.65:
            self.say(f"{self.subj(h)} said, yes, you can!")
            self.say(f"{self.subj(h)} gave {self.np(self.wanted)} to {self.objref(f, h)}.")
            self.say(f"{self.subj(f)} was very {r.choice(FEELINGS_GOOD)}.")
            self.say(f"{self.subj(f)} said, thank you, {h.name}!")
        else:
            other = self.pick(avoid=self.wanted)
            self.say(f"{self.subj(h)} said, no, it is my {self.wanted[1]}!")
            self.say(f"{self.subj(f)} was {r.choice(FEELINGS_BAD)}.")
            self.say(f"then {self.subj(h)} felt bad.")
            self.say(f"{self.subj(h)} gave {self.np(other)} to {self.objref(f, h)}.")
            self.say(f"{self.subj(h)} said, sorry, {f.name}.")

    def trouble(self):
        h, r = self.hero, self.rng
        beast = self.animal
        lost = self.pick()
        self.say(f"{r.choice(['then', 'suddenly,'])} a {self.animal_adj} {beast} came and took {self.np(lost)}.")
        self.last = None
        self.say(f"the {beast} {r.choice(MOVES)} to the {self.place2}.")
        if r.random() < 0.4:
            self.say(f"{self.subj(h)} was {r.choice(FEELINGS_BAD)}.")
        self.say(f"{self.both()} {r.choice(MOVES)} after the {beast}.")
        self.last = None
        self.say(f"they looked for {self.np(lost)} in the {self.place2}.")
        self.say(f"at last, they found {self.np(lost)} under {r.choice(HIDES)}.")
        if r.random() < 0.4:
            self.say(f"the {beast} was {r.choice(['sorry', 'sleepy', 'hungry', 'happy'])}.")

    def play(self):
        r = self.rng
        k = r.randrange(3)
        if k == 0:
            t1 = self.pick()
            t2 = self.pick(avoid=t1)
            self.say(f"{self.both()} played with {self.np(t1)} and {self.np(t2)}.")
        elif k == 1:
            self.say(f"they played in the {self.place} all day.")
        else:
            self.say(f"{self.both()} {r.choice(['laughed', 'played', 'sang'])} in the {self.place}.")
        self.last = None

    def ending(self):
        h, f, r = self.hero, self.friend, self.rng
        k = r.randrange(4)
        if k == 0:
            self.say(f"{self.both()} were best friends.")
        elif k == 1:
            self.say(f"at the end of the day, {h.name} went home.")
            self.last = h
            self.say(f"{self.subj(h)} was tired but {r.choice(FEELINGS_GOOD)}.")
        elif k == 2:
            self.say(f"{self.subj(h)} loved {self.np(self.favourite, h.pos)} and {h.pos} friend {f.name}.")
        else:
            self.say(f"{h.name} gave {f.name} a big hug.")
        if r.random() < 0.5:
            self.say("the end.")

    def generate(self):
        r = self.rng
        self.opening()
        early = r.random() < 0.5
        if early:               # the friend comes, they play the game, then the things
            self.arrive()
            self.echo()
            self.get_things()
        else:
            self.get_things()
            self.arrive()
        self.ask()
        self.share()
        if not early and r.random() < 0.6:
            self.echo()
        if r.random() < 0.6:
            self.trouble()
        if r.random() < 0.7:
            self.play()
        self.ending()
        return " ".join(self.sentences)


def make_story(rng):
    return Story(rng).generate()


def make_game(rng):
    """Just the naming game of a story (the list, then its repetition): a probe for copying heads."""
    story = Story(rng)
    story.echo()
    return " ".join(story.sentences)


def generate_stories(seed, n):
    rng = random.Random(seed)
    return [make_story(rng) for _ in range(n)]


def generate_corpus(seed=1234, n_stories=4000):
    """The corpus text, one story per line."""
    return "\n".join(generate_stories(seed, n_stories)) + "\n"


def tokenize(text):
    """Lowercase, then the words and punctuation marks, in order."""
    return TOKEN_RE.findall(text.lower())


def build_vocab(text):
    """[<bos>, <unk>, punctuation, words sorted]: the words are those of `text`."""
    words = set(tokenize(text))
    punct = [p for p in ".,!?" if p in words]
    rest = sorted(w for w in words if w not in punct)
    return [BOS, UNK] + punct + rest


def encode(tokens, vocab):
    ids = {t: i for i, t in enumerate(vocab)}
    unk = ids[UNK]
    return [ids.get(t, unk) for t in tokens]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--stories", type=int, default=4000)
    ap.add_argument("--out", default="-")
    ap.add_argument("--stats", action="store_true", help="print sizes and vocabulary to stderr")
    args = ap.parse_args()
    text = generate_corpus(args.seed, args.stories)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w") as f:
            f.write(text)
    if args.stats:
        toks = tokenize(text)
        vocab = build_vocab(text)
        print(f"{len(text)} bytes, {len(toks)} tokens, vocabulary {len(vocab)}", file=sys.stderr)


if __name__ == "__main__":
    main()
