"""Safety evaluation at conformance scale: the TC260 generative-AI security method.

A library shared by the llm standard (question banks, refusal and over-refusal, checks of
generated content, jailbreak robustness) and the data standard (corpus sampling rules):
the risk taxonomy as data (`taxonomy`), the method's minimum sizes and thresholds per
edition (`requirements`), bank and keyword-library readers (`banks`), a keyword checker
that sees through spacing, symbols, traditional characters and pinyin (`keywords`), rates
with confidence intervals and the conformance verdict table (`rates`), the human-review
round trip with inter-reviewer agreement (`review`), attack transformations (`jailbreak`)
and corpus sampling (`sampling`).
"""
