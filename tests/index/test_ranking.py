from index.ranking import (
    detect_tax_types,
    document_keys,
    hierarchy_prior,
    mentioned_documents,
    normalise_doc_number,
)
from index.tokenize import search_tokens
from knowledge_base.models import DocType, Document


def test_doc_number_normalisation():
    assert normalise_doc_number("财税〔2019〕13号") == normalise_doc_number("财税[2019] 13号")
    assert normalise_doc_number("国令第707号") == normalise_doc_number("国务院令第七百零七号")
    assert normalise_doc_number("主席令第四十一号") == "主席令41号"


def test_mentions_by_number_order_and_title():
    docs = [
        Document(id="vat", title="中华人民共和国增值税法", doc_number="主席令第四十一号"),
        Document(id="pit57", title="个人所得税综合所得汇算清缴管理办法", doc_number="国家税务总局令第57号"),
        Document(id="cs13", title="关于实施小微企业普惠性税收减免政策的通知", doc_number="财税〔2019〕13号"),
        Document(id="cit", title="中华人民共和国企业所得税法", doc_number="主席令第二十三号"),
        Document(id="cit-impl", title="中华人民共和国企业所得税法实施条例", doc_number="国务院令第512号"),
    ]
    keys = [document_keys(d) for d in docs]
    assert mentioned_documents("财税[2019]13号文件还有效吗", keys) == {"cs13": 1.0}
    assert mentioned_documents("按57号令第十八条", keys) == {"pit57": 1.0}
    assert mentioned_documents("《增值税法》规定的税率", keys) == {"vat": 0.8}
    found = mentioned_documents("企业所得税法实施条例第三十条", keys)
    assert found["cit-impl"] > found["cit"]
    assert mentioned_documents("今天天气怎么样", keys) == {}


def test_tax_type_detection_uses_names_synonyms_and_hints():
    vocab = ["增值税", "土地增值税", "个人所得税", "发票", "企业所得税"]
    assert detect_tax_types("个税怎么算", search_tokens("个税怎么算"), vocab) == {"个人所得税"}
    assert detect_tax_types("土地增值税清算", search_tokens("土地增值税清算"), vocab) == {"土地增值税"}
    assert "增值税" in detect_tax_types("进项税额能抵扣吗", search_tokens("进项税额能抵扣吗"), vocab)
    assert detect_tax_types("讲个笑话", search_tokens("讲个笑话"), vocab) == set()


def test_hierarchy_prior_orders_law_over_announcement():
    law = Document(id="a", title="x", doc_type=DocType.LAW, tax_types=("增值税",))
    note = Document(id="b", title="y", doc_type=DocType.NORMATIVE, tax_types=("增值税",))
    other = Document(id="c", title="z", doc_type=DocType.LAW, tax_types=("印花税",))
    taxes = {"增值税"}
    assert hierarchy_prior(law, taxes) > hierarchy_prior(note, taxes) > 0
    assert hierarchy_prior(other, taxes) == 0.0
    assert hierarchy_prior(law, set()) == 0.0
