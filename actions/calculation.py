"""Pure tax estimates with the formula and the rule behind them: wages (综合所得), 年终奖 (单独计税) and a
小规模纳税人's VAT. An illustration for a question, never a filing: the texts say what is assumed."""

from __future__ import annotations

from dataclasses import dataclass

# 综合所得 annual table (个人所得税法 税率表一): (upper bound of taxable income, rate, quick deduction)
ANNUAL_TABLE = (
    (36_000, 0.03, 0),
    (144_000, 0.10, 2_520),
    (300_000, 0.20, 16_920),
    (420_000, 0.25, 31_920),
    (660_000, 0.30, 52_920),
    (960_000, 0.35, 85_920),
    (float("inf"), 0.45, 181_920),
)
# the same table converted to months (for 全年一次性奖金 单独计税)
MONTHLY_TABLE = (
    (3_000, 0.03, 0),
    (12_000, 0.10, 210),
    (25_000, 0.20, 1_410),
    (35_000, 0.25, 2_660),
    (55_000, 0.30, 4_410),
    (80_000, 0.35, 7_160),
    (float("inf"), 0.45, 15_160),
)
MONTHLY_ALLOWANCE = 5_000  # 减除费用 60000元/年
VAT_SMALL_RATE = 0.01  # 3%征收率减按1%, 2026-01-01 至 2027-12-31
VAT_THRESHOLD = {"月": 100_000, "季度": 300_000}  # 起征点 (不含税销售额)

WAGE, BONUS, VAT_SMALL = "wage", "bonus", "vat_small"
# the rule each estimate rests on, searched in the knowledge base for the citation
RULE_QUERIES = {
    WAGE: "个人所得税 综合所得 税率表 减除费用六万元",
    BONUS: "全年一次性奖金 单独计税 按月换算后的综合所得税率表",
    VAT_SMALL: "小规模纳税人 3%征收率减按1%征收 起征点 月销售额10万元",
}
# the documents that state each rule, cited first when the search finds them
RULE_DOCS = {
    WAGE: ("law-pit-2018",),
    BONUS: ("caishui-2018-164", "mof-sta-2023-30"),
    VAT_SMALL: ("mof-sta-2026-10", "sta-2026-4"),
}
NOT_A_FILING = "以上为按您给出的金额做的估算，仅供参考，不作为申报依据；实际应纳税额以申报系统计算为准。"


@dataclass(frozen=True)
class Estimate:
    kind: str
    text: str
    tax: float | None  # None: no amount given, only the formula


def kind_of(question: str) -> str:
    if any(w in question for w in ("年终奖", "一次性奖金", "奖金")):
        return BONUS
    if any(w in question for w in ("增值税", "增殖税", "小规模", "销售额", "开票", "发票", "营业额")):
        return VAT_SMALL
    return WAGE


def _bracket(amount: float, table: tuple[tuple[float, float, int], ...]) -> tuple[float, int]:
    for upper, rate, deduction in table:
        if amount <= upper:
            return rate, deduction
    raise AssertionError("the last bracket is unbounded")


def yuan(value: float) -> str:
    return f"{value:,.2f}元"


def wage_estimate(monthly: float | None) -> Estimate:
    rule = (
        "计算方法：年应纳税所得额＝全年工资薪金－6万元减除费用－专项扣除（三险一金）－专项附加扣除－其他扣除，"
        "应纳税额＝年应纳税所得额×适用税率－速算扣除数（综合所得3%至45%七级超额累进税率）；单位按月累计预扣预缴。"
    )
    if monthly is None:
        return Estimate(WAGE, f"{rule}\n告诉我每月税前工资（例如“月薪15000”），我可以帮您估算。", None)
    taxable = max(0.0, (monthly - MONTHLY_ALLOWANCE) * 12)
    rate, deduction = _bracket(taxable, ANNUAL_TABLE)
    tax = max(0.0, taxable * rate - deduction)
    text = (
        f"{rule}\n估算：月薪{yuan(monthly)}，暂不考虑三险一金和专项附加扣除，"
        f"年应纳税所得额＝({yuan(monthly)}－5,000元)×12＝{yuan(taxable)}，适用税率{rate:.0%}、速算扣除数{deduction:,}元，"
        f"全年个税约{yuan(tax)}，平均每月约{yuan(tax / 12)}。扣除三险一金和专项附加扣除后会更少。"
    )
    return Estimate(WAGE, text, round(tax, 2))


def bonus_estimate(bonus: float | None) -> Estimate:
    rule = (
        "计算方法（单独计税，政策执行至2027年12月31日）：以年终奖除以12的商数查按月换算后的综合所得税率表"
        "确定税率和速算扣除数，应纳税额＝年终奖×适用税率－速算扣除数；也可以选择并入当年综合所得计税。"
    )
    if bonus is None:
        return Estimate(BONUS, f"{rule}\n告诉我年终奖金额（例如“年终奖3万”），我可以帮您估算。", None)
    rate, deduction = _bracket(bonus / 12, MONTHLY_TABLE)
    tax = max(0.0, bonus * rate - deduction)
    text = (
        f"{rule}\n估算：年终奖{yuan(bonus)}÷12＝{yuan(bonus / 12)}，"
        f"适用税率{rate:.0%}、速算扣除数{deduction:,}元，"
        f"应纳税额＝{yuan(bonus)}×{rate:.0%}－{deduction:,}元＝{yuan(tax)}，税后约{yuan(bonus - tax)}。"
    )
    return Estimate(BONUS, text, round(tax, 2))


def vat_small_estimate(sales: float | None, period: str) -> Estimate:
    threshold = VAT_THRESHOLD[period]
    rule = (
        "计算方法：2026年1月1日至2027年12月31日，小规模纳税人3%征收率减按1%征收；"
        "起征点为月销售额10万元、季度销售额30万元（不含税），未达到起征点的免征增值税，达到的全额计算缴纳。"
        "应纳税额＝含税销售额÷(1＋1%)×1%。"
    )
    if sales is None:
        return Estimate(VAT_SMALL, f"{rule}\n告诉我销售额和按月还是按季申报，我可以帮您估算。", None)
    net = sales / (1 + VAT_SMALL_RATE)
    if net < threshold:
        text = (
            f"{rule}\n估算：按{period}申报，销售额{yuan(sales)}（不含税约{yuan(net)}）未达到{period}起征点"
            f"{yuan(threshold)}，免征增值税（开具增值税专用发票的部分除外）。"
        )
        return Estimate(VAT_SMALL, text, 0.0)
    tax = net * VAT_SMALL_RATE
    text = (
        f"{rule}\n估算：按{period}申报，含税销售额{yuan(sales)}，不含税销售额＝{yuan(sales)}÷1.01＝{yuan(net)}，"
        f"达到{period}起征点，应纳增值税＝{yuan(net)}×1%＝{yuan(tax)}（另有附加税费，可按规定减半）。"
    )
    return Estimate(VAT_SMALL, text, round(tax, 2))


def estimate(question: str, amount: float | None) -> Estimate:
    """The estimate a question asks for, by its wording (年终奖 / 小规模增值税 / wages by default)."""
    kind = kind_of(question)
    if kind == BONUS:
        return bonus_estimate(amount)
    if kind == VAT_SMALL:
        period = "季度" if "季" in question else "月"
        return vat_small_estimate(amount, period)
    return wage_estimate(amount)
