"""Search that finds Korean words with their particles attached, as well as English words.

Sphinx has no Korean search language, and one search index serves both editions. This extension
replaces the English search language with one that stems English words as before (Porter) and strips
a trailing particle (조사) from Korean words, so that 정규화를, 정규화는 and 정규화의 are all indexed
and searched as 정규화.

The same rules run in Python, when Sphinx builds the index, and in the reader's browser, when the
query is stemmed: the JavaScript below is generated from the same table. The rules are deliberately
conservative. A one-syllable particle that also ends ordinary nouns (이, 가, 도, 의, 로, 에, 와, 과,
...) is stripped only when at least two characters remain, so 차이 and 결과 stay whole.
"""

import json
import re

from sphinx.search.en import SearchEnglish

PARTICLES = sorted("""
    에서부터 으로부터 로부터 에게서 이라는 라는 이라고 라고 이라면 라면 에서는 에서도 에서의
    으로는 으로도 로는 로도 으로써 로써 으로서 로서 에서 에게 한테 으로 까지 부터 보다 처럼 마다
    이나 이며 이고 이란 에는 에도 에의 와는 과는 와의 과의 만큼 만의 들의 들을 들은 들이 들과
    입니다 이다 의 을 를 은 는 이 가 와 과 도 만 로 에 께 나 며
""".split(), key=lambda p: (-len(p), p))
# one-syllable particles that also end ordinary words: strip only if two characters remain
AMBIGUOUS = {"이", "가", "도", "의", "로", "에", "와", "과", "만", "께", "나", "며"}
HANGUL = re.compile("[\uac00-\ud7a3]")


def strip_particle(word):
    """정규화를 → 정규화; 차이 → 차이 (too short to be noun + particle); BN을 → bn."""
    word = word.lower()
    if not word or not HANGUL.match(word[-1]):
        return word
    for particle in PARTICLES:
        if word.endswith(particle):
            rest = word[: -len(particle)]
            if len(rest) >= (2 if particle in AMBIGUOUS else 1):
                return rest
    return word


class KoreanEnglishSearch(SearchEnglish):
    """English search (Porter stemming) that also understands Korean particles."""

    js_stemmer_code = SearchEnglish.js_stemmer_code + """
var EnglishStemmer = Stemmer;
Stemmer = function () {
  var english = new EnglishStemmer();
  var particles = PARTICLES;
  var ambiguous = new Set(AMBIGUOUS);
  var hangul = /[\\uac00-\\ud7a3]/;
  this.stemWord = function (w) {
    w = w.toLowerCase();
    if (w && hangul.test(w[w.length - 1])) {
      for (var i = 0; i < particles.length; i++) {
        var p = particles[i];
        if (w.length > p.length && w.endsWith(p)) {
          var rest = w.slice(0, w.length - p.length);
          if (rest.length >= (ambiguous.has(p) ? 2 : 1)) { w = rest; break; }
        }
      }
    }
    return hangul.test(w) ? w : english.stemWord(w);
  };
};
""".replace("PARTICLES", json.dumps(PARTICLES, ensure_ascii=False)).replace(
        "AMBIGUOUS", json.dumps(sorted(AMBIGUOUS), ensure_ascii=False))

    def stem(self, word):
        word = strip_particle(word)
        return word if HANGUL.search(word) else super().stem(word)


def setup(app):
    app.add_search_language(KoreanEnglishSearch)  # registered as "en", the book's language
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
