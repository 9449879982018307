"""The evasion-resistant negative-list matcher.

    from detectors.matcher.matcher import Matcher
    hits = Matcher(store.snapshot()).match(text)   # Findings with offsets into ``text``

Evasion rules (each an option per list; ``rules`` of a hit names those that fired):

| rule       | text           | listed   |
|------------|----------------|----------|
| case       | VpN            | vpn      |
| width      | ｖｐｎ, ＱＱ８８   | vpn, qq88|
| compat     | ⓥⓟⓝ, ⒱, 𝐯, ¹    | vpn, 1   |
| t2s        | 賭博 (OpenCC)   | 赌博     |
| numeral    | 陸 贰 ② ⑵ 6     | 六 二 ...|
| noise      | 赌*博, 赌​博, 赌😀博 (up to ``noise_gap`` characters) | 赌博 |
| repeat     | 赌赌赌博博       | 赌博     |
| pinyin     | du bo, 赌bo     | 赌博 (entry flagged ``pinyin``) |
| homophone  | 堵博            | 赌博 (entry flagged ``pinyin``) |
| whole_word | "I bet", not "alphabet" | bet |

Sentence ends (。！？；\\n) are never bridged; allowed phrases suppress listed
terms inside them (per list or global).
"""
