from actions.topics import FaqSuggester, LocalVariants, topic_words
from tests.actions.conftest import FAQS


def test_topic_words_drop_region_names_and_vague_words():
    assert topic_words("北京个人出租住房房产税的规定") == {"个人", "出租", "住房", "房产税"}


def test_local_variants_name_the_regions_with_their_own_answer():
    variants = LocalVariants(FAQS)
    assert variants.regions_for("个人出租住房房产税税率") == ["北京市"]
    assert variants.regions_for("个税起征点是多少") == []


def test_suggestions_stay_in_the_askers_region_and_skip_excluded():
    suggester = FaqSuggester(FAQS)
    assert suggester.suggest("出租住房房产税", region="北京市") == ["北京个人出租住房房产税怎么交？"]
    assert suggester.suggest("出租住房房产税", region="上海市") == []
    assert suggester.suggest("出租住房房产税", region="北京市", exclude=["faq-test-bj-rent"]) == []


def test_a_faq_source_is_reread_only_when_it_hands_out_another_collection():
    current = {"faq": FAQS}
    calls = []

    def source():
        calls.append(1)
        return current["faq"]

    variants = LocalVariants(source)
    assert variants.regions_for("个人出租住房房产税税率") == ["北京市"]
    current["faq"] = tuple(f for f in FAQS if f.region != "北京市")  # withdrawn: a new collection
    assert variants.regions_for("个人出租住房房产税税率") == []
    assert len(calls) == 2
