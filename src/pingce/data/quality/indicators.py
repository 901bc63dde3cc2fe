"""Indicators of the data-quality model, grouped by ISO/IEC 5259-2 characteristics.

Every measure is a ratio X = A / B (ISO/IEC 5259-2 style) or a named statistic. Per-record
rates carry bootstrap CIs (pingce.core.stats.estimate); corpus-level measures (duplicate rates,
language shares, balance) are exact for the data evaluated and carry no CI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Characteristic:
    id: str
    name: str
    name_zh: str
    weight: float
    score_from: str  # the measure whose (direction-adjusted) value is the characteristic score
    definition: str


# Weights of the overall score (sum 1.0); documented in docs/standards/data-quality.md.
CHARACTERISTICS: tuple[Characteristic, ...] = (
    Characteristic("completeness", "Completeness", "完整性", 0.15, "data_complete_ratio",
                   "records with every required field present, non-empty and not truncated"),
    Characteristic("validity", "Accuracy / validity", "准确性/有效性", 0.15, "data_valid_ratio",
                   "records that parse and decode without encoding damage"),
    Characteristic("consistency", "Consistency", "一致性", 0.10, "data_consistency_ratio",
                   "records with the dominant schema and a declared language matching the detected one"),
    Characteristic("uniqueness", "Uniqueness", "唯一性", 0.15, "data_unique_ratio",
                   "documents that are not an exact or near duplicate of an earlier one"),
    Characteristic("diversity", "Diversity", "多样性", 0.10, "data_diversity_index",
                   "mean of lexical diversity (MATTR) and normalised word-bigram entropy"),
    Characteristic("balance", "Balance", "均衡性", 0.05, "data_balance_index",
                   "1 - total variation distance to the declared language target (or Pielou evenness)"),
    Characteristic("safety", "Safety", "安全性", 0.15, "data_safe_ratio",
                   "documents without PII and without listed abusive terms"),
    Characteristic("heuristics", "Heuristic quality", "启发式质量", 0.15, "data_heuristic_score",
                   "mean fraction of the profile's heuristic rule sets a document passes"),
)  # fmt: skip

GRADES: tuple[tuple[float, str], ...] = (
    (0.90, "A"),
    (0.80, "B"),
    (0.70, "C"),
    (0.60, "D"),
    (0.0, "E"),
)


# A weighted mean lets one large defect hide behind perfect scores elsewhere: 20% near
# duplicates cost only 0.03 of the score at weight 0.15, and such a corpus was graded A (0.93).
# So the grade is also capped by the worst defect rate (1 - score) of the characteristics that
# are shares of defective records; each letter then promises a bound on every defect rate.
# Diversity and balance are indices of a distribution, not defect shares, and cap nothing.
DEFECT_CAPS: tuple[tuple[float, str], ...] = (
    (0.05, "A"),  # at most 1 defective record in 20 in every capped characteristic
    (0.10, "B"),
    (0.20, "C"),
    (0.30, "D"),
)
CAPPED = ("completeness", "validity", "consistency", "uniqueness", "safety", "heuristics")
_ORDER = "ABCDE"


def defect_cap(defect_rate: float) -> str:
    """The best grade a characteristic with this defect rate allows."""
    for limit, letter in DEFECT_CAPS:
        if defect_rate <= limit + 1e-12:
            return letter
    return "E"


def grade(score: float, characteristics: dict[str, float] | None = None) -> str:
    """The letter of the overall score, capped by the capped characteristics' defect rates.

    `characteristics` maps characteristic id -> score (0-1); those in CAPPED count.
    """
    letter = next((lt for threshold, lt in GRADES if score >= threshold), "E")
    for cid, value in (characteristics or {}).items():
        if cid in CAPPED:
            cap = defect_cap(1.0 - value)
            letter = max(letter, cap, key=_ORDER.index)
    return letter


@dataclass(frozen=True)
class Measure:
    id: str
    characteristic: str
    name: str
    name_zh: str
    direction: Literal["higher", "lower"]
    definition: str
    level: Literal["record", "corpus"] = "record"
    unit: str = "ratio"


MEASURES: tuple[Measure, ...] = (
    Measure("data_complete_ratio", "completeness", "Complete records", "完整记录比例", "higher",
            "records with no completeness defect / records"),
    Measure("data_missing_field_rate", "completeness", "Missing fields", "字段缺失率", "lower",
            "records lacking a required field (text, or prompt/response/messages) / records"),
    Measure("data_empty_rate", "completeness", "Empty text", "空文本率", "lower",
            "records whose text (or any instruction part) is empty after stripping / records"),
    Measure("data_truncated_rate", "completeness", "Truncated", "截断率", "lower",
            "documents (SFT: responses) that stop part-way (inside an open code fence, after a comma, colon or open bracket, or in a line of running text of ≥ 8 words / ≥ 15 Han characters without a sentence end) / documents"),
    Measure("data_valid_ratio", "validity", "Valid records", "有效记录比例", "higher",
            "records that parse and have no encoding damage / records"),
    Measure("data_malformed_rate", "validity", "Malformed records", "格式错误率", "lower",
            "lines that are not valid JSON/CSV/UTF-8 or not an object / records"),
    Measure("data_encoding_error_rate", "validity", "Encoding errors", "编码错误率", "lower",
            "documents with U+FFFD, control characters or mojibake that ftfy detects / documents"),
    Measure("data_consistency_ratio", "consistency", "Consistency", "一致性比例", "higher",
            "mean of the schema consistency ratio and the language agreement ratio (when declared)",
            level="corpus"),
    Measure("data_schema_consistency", "consistency", "Schema consistency", "模式一致率", "higher",
            "records whose field set equals the most common field set / records", level="corpus"),
    Measure("data_lang_agreement", "consistency", "Declared language agreement", "语言标注一致率", "higher",
            "documents whose declared language equals the detected one / documents declaring one"),
    Measure("data_unique_ratio", "uniqueness", "Unique documents", "唯一文档比例", "higher",
            "1 - near-duplicate rate", level="corpus"),
    Measure("data_exact_dup_rate", "uniqueness", "Exact duplicates", "完全重复率", "lower",
            "documents whose normalised text hash equals an earlier document's / documents", level="corpus"),
    Measure("data_near_dup_rate", "uniqueness", "Near duplicates", "近似重复率", "lower",
            "documents in a MinHash-LSH cluster (5-gram shingles, 112 permutations, 14 bands) after its first member / documents (includes exact)",
            level="corpus"),
    Measure("data_diversity_index", "diversity", "Diversity index", "多样性指数", "higher",
            "(mean MATTR + mean normalised bigram entropy) / 2", level="corpus"),
    Measure("data_lexical_diversity", "diversity", "Lexical diversity (MATTR)", "词汇多样性", "higher",
            "moving-average type/token ratio over 50-token windows, mean over documents"),
    Measure("data_bigram_entropy", "diversity", "Bigram entropy (normalised)", "二元组熵", "higher",
            "Shannon entropy of a document's word bigrams / log2(bigram count), mean over documents"),
    Measure("data_language_entropy", "diversity", "Language entropy", "语言分布熵", "higher",
            "Shannon entropy (bits) of the detected-language shares", level="corpus", unit="bits"),
    Measure("data_topic_entropy", "diversity", "Topic entropy (normalised)", "主题分布熵", "higher",
            "-Σ p_i ln p_i / ln K over the shares of documents per dominant NMF topic (TF-IDF of content words; K topics requested, at most documents / 5); when no topic structure beats a shuffled corpus, each language is one topic (0 for one language)",
            level="corpus"),
    Measure("data_balance_index", "balance", "Balance", "均衡指数", "higher",
            "1 - total variation distance between language shares and the target; Pielou evenness without a target (documents under 50 characters or detected with confidence < 0.5 left out)",
            level="corpus"),
    Measure("data_safe_ratio", "safety", "Safe documents", "安全文档比例", "higher",
            "documents with neither PII nor listed abusive terms / documents"),
    Measure("data_pii_rate", "safety", "PII rate", "个人信息率", "lower",
            "documents with at least one e-mail, phone, resident ID, bank card or IP address (URLs are not personal data) / documents"),
    Measure("data_toxic_rate", "safety", "Toxic rate", "有害内容率", "lower",
            "documents containing a term of the abusive word list / documents"),
    Measure("data_heuristic_score", "heuristics", "Heuristic score", "启发式得分", "higher",
            "per document: fraction of rule sets passed (pretrain: Gopher quality, Gopher repetition, C4, FineWeb; SFT: repetition, non-empty response, response differs from prompt), mean"),
    Measure("data_gopher_pass", "heuristics", "Gopher quality pass", "Gopher 质量通过率", "higher",
            "documents passing the Gopher quality rules (Chinese-aware) / documents"),
    Measure("data_gopher_repetition_pass", "heuristics", "Gopher repetition pass", "Gopher 重复通过率", "higher",
            "documents passing the Gopher repetition rules / documents"),
    Measure("data_c4_pass", "heuristics", "C4 pass", "C4 通过率", "higher",
            "documents passing the C4 rules / documents"),
    Measure("data_fineweb_pass", "heuristics", "FineWeb pass", "FineWeb 通过率", "higher",
            "documents passing the FineWeb quality rules / documents"),
)  # fmt: skip

MEASURE_BY_ID = {m.id: m for m in MEASURES}
