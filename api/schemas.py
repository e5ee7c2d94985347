"""Request and response models. Request fields come from the Kaggle dictionary (warehouse/kaggle_schema.yaml).

Every raw column becomes a field with its Kaggle name (``AMT_CREDIT``), type, allowed labels and
plausible range, and its dictionary description as documentation, so that a bad value is refused
with a 422 that names the field. History rows are nested under the application they belong to:
their ``SK_ID_CURR`` may be omitted (it is the application's).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from warehouse.schema import Column, Table, load_schema

INT_BOUNDS = {"BIGINT": (0, 2**63 - 1), "INTEGER": (-(2**31), 2**31 - 1)}
VARCHAR_MAX = 200

# request key -> raw table; the application is scored as a new (test) application: no TARGET
HISTORY_TABLES: dict[str, str] = {
    "bureau": "bureau",
    "bureau_balance": "bureau_balance",
    "previous_application": "previous_application",
    "pos_cash_balance": "pos_cash_balance",
    "installments_payments": "installments_payments",
    "credit_card_balance": "credit_card_balance",
}
APPLICATION_TABLE = "application_test"


def _field(col: Column, required: bool) -> tuple[Any, Any]:
    desc = col.description or col.name
    if col.labels:
        annotation: Any = Literal[tuple(col.labels)]  # type: ignore[valid-type]
        constraints: dict[str, Any] = {}
    elif col.type == "VARCHAR":
        annotation = str
        constraints = {"max_length": VARCHAR_MAX}
    elif col.type == "DOUBLE":
        annotation = float
        constraints = {"allow_inf_nan": False}
        if col.min is not None:
            constraints["ge"] = col.min
        if col.max is not None:
            constraints["le"] = col.max
    else:
        annotation = int
        lo, hi = INT_BOUNDS[col.type]
        lo = max(lo, int(col.min)) if col.min is not None else lo
        hi = min(hi, int(col.max)) if col.max is not None else hi
        constraints = {"ge": lo, "le": hi}
    if required:
        return annotation, Field(..., description=desc, **constraints)
    return annotation | None, Field(default=None, description=desc, **constraints)


def _row_model(table: Table, model_name: str, optional: set[str], doc: str) -> type[BaseModel]:
    fields = {
        col.name: _field(col, required=not col.nullable and col.name not in optional)
        for col in table.columns
        if col.name != "TARGET"
    }
    return create_model(  # type: ignore[call-overload]
        model_name,
        __config__=ConfigDict(extra="forbid", title=model_name),
        __doc__=doc,
        **fields,
    )


_schema = load_schema()
Application = _row_model(
    _schema.table(APPLICATION_TABLE),
    "Application",
    optional={"SK_ID_CURR"},
    doc="The application as filed (Kaggle application_{train|test} columns, without TARGET).",
)
Bureau = _row_model(
    _schema.table("bureau"), "BureauCredit", {"SK_ID_CURR"}, "A credit reported by the bureau."
)
BureauBalance = _row_model(
    _schema.table("bureau_balance"), "BureauBalanceMonth", set(), "A month of a bureau credit (SK_ID_BUREAU)."
)
PreviousApplication = _row_model(
    _schema.table("previous_application"),
    "PreviousApplication",
    {"SK_ID_CURR"},
    "A previous Home Credit application.",
)
PosCash = _row_model(
    _schema.table("pos_cash_balance"),
    "PosCashMonth",
    {"SK_ID_CURR"},
    "A month of a previous POS or cash loan.",
)
Installment = _row_model(
    _schema.table("installments_payments"),
    "InstallmentPayment",
    {"SK_ID_CURR"},
    "An installment and its payment.",
)
CreditCard = _row_model(
    _schema.table("credit_card_balance"),
    "CreditCardMonth",
    {"SK_ID_CURR"},
    "A month of a previous credit card.",
)
ROW_MODELS: dict[str, type[BaseModel]] = {
    "bureau": Bureau,
    "bureau_balance": BureauBalance,
    "previous_application": PreviousApplication,
    "pos_cash_balance": PosCash,
    "installments_payments": Installment,
    "credit_card_balance": CreditCard,
}

EXAMPLE_APPLICATION: dict[str, Any] = {
    "SK_ID_CURR": 456789,
    "NAME_CONTRACT_TYPE": "Cash loans",
    "CODE_GENDER": "F",
    "FLAG_OWN_CAR": "N",
    "FLAG_OWN_REALTY": "Y",
    "CNT_CHILDREN": 1,
    "AMT_INCOME_TOTAL": 157500.0,
    "AMT_CREDIT": 675000.0,
    "AMT_ANNUITY": 34596.0,
    "AMT_GOODS_PRICE": 675000.0,
    "NAME_INCOME_TYPE": "Working",
    "NAME_EDUCATION_TYPE": "Secondary / secondary special",
    "NAME_FAMILY_STATUS": "Married",
    "NAME_HOUSING_TYPE": "House / apartment",
    "DAYS_BIRTH": -14000,
    "DAYS_EMPLOYED": -2100,
    "EXT_SOURCE_2": 0.61,
    "EXT_SOURCE_3": 0.53,
}
EXAMPLE_REQUEST: dict[str, Any] = {
    "application": EXAMPLE_APPLICATION,
    "bureau": [
        {
            "SK_ID_BUREAU": 5714462,
            "CREDIT_ACTIVE": "Closed",
            "CREDIT_CURRENCY": "currency 1",
            "DAYS_CREDIT": -497,
            "CREDIT_DAY_OVERDUE": 0,
            "DAYS_CREDIT_ENDDATE": -153,
            "CNT_CREDIT_PROLONG": 0,
            "AMT_CREDIT_SUM": 91323.0,
            "AMT_CREDIT_SUM_DEBT": 0.0,
            "CREDIT_TYPE": "Consumer credit",
            "DAYS_CREDIT_UPDATE": -131,
        }
    ],
    "bureau_balance": [
        {"SK_ID_BUREAU": 5714462, "MONTHS_BALANCE": -1, "STATUS": "C"},
        {"SK_ID_BUREAU": 5714462, "MONTHS_BALANCE": -2, "STATUS": "0"},
    ],
    "previous_application": [
        {
            "SK_ID_PREV": 1038818,
            "NAME_CONTRACT_TYPE": "Consumer loans",
            "AMT_ANNUITY": 9251.775,
            "AMT_APPLICATION": 179055.0,
            "AMT_CREDIT": 179055.0,
            "AMT_GOODS_PRICE": 179055.0,
            "NAME_CONTRACT_STATUS": "Approved",
            "DAYS_DECISION": -606,
            "CNT_PAYMENT": 24.0,
        }
    ],
    "installments_payments": [
        {
            "SK_ID_PREV": 1038818,
            "NUM_INSTALMENT_VERSION": 1.0,
            "NUM_INSTALMENT_NUMBER": 1,
            "DAYS_INSTALMENT": -565.0,
            "DAYS_ENTRY_PAYMENT": -587.0,
            "AMT_INSTALMENT": 9251.775,
            "AMT_PAYMENT": 9251.775,
        }
    ],
}


class ScoreRequest(BaseModel):
    """A new application and its history, scored in real time with the mart's own SQL."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_REQUEST]})

    application: Application  # type: ignore[valid-type]
    bureau: list[Bureau] = Field(default_factory=list, description="Bureau credits (bureau.csv rows).")  # type: ignore[valid-type]
    bureau_balance: list[BureauBalance] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Monthly history of the bureau credits, by SK_ID_BUREAU."
    )
    previous_application: list[PreviousApplication] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Previous Home Credit applications."
    )
    pos_cash_balance: list[PosCash] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Monthly POS / cash loan balances."
    )
    installments_payments: list[Installment] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Installments of previous credits and their payments."
    )
    credit_card_balance: list[CreditCard] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Monthly credit card balances."
    )
    top_k: int | None = Field(default=None, ge=0, le=50, description="SHAP values to return (default 10).")
    include_features: bool = Field(default=False, description="Return the computed feature vector too.")


class BatchScoreRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"applications": [EXAMPLE_REQUEST]}]}
    )

    applications: list[ScoreRequest] = Field(..., min_length=1, description="Applications to score.")


# --- responses -------------------------------------------------------------------------------------
class Reason(BaseModel):
    direction: Literal["raises", "lowers"]
    rank: int
    feature: str
    family: str | None = None
    feature_value: float | None = None
    shap_value: float
    text_en: str
    text_fr: str


class ShapValue(BaseModel):
    feature: str
    feature_value: float | None = None
    shap_value: float
    rank: int | None = None


class ModelRef(BaseModel):
    name: str
    version: str


class StoredScore(BaseModel):
    """The latest batch score of this applicant in the published warehouse (scoring.scores)."""

    run_id: str | None = None
    probability: float | None = None
    probability_source: str | None = None
    risk_grade: str | None = None
    decision: str | None = None
    model_version: str | None = None
    scored_at: str | None = None


class ScoreResponse(BaseModel):
    request_id: str
    kind: Literal["lookup", "decision"]
    sk_id_curr: int | None = None
    model: ModelRef
    probability: float = Field(description="Calibrated probability of default.")
    raw_score: float = Field(description="The booster's log-odds (SHAP values add up to it).")
    risk_grade: str
    decision: Literal["approve", "review", "refuse"]
    threshold: float
    review_band: tuple[float, float]
    reasons: list[Reason]
    top_shap: list[ShapValue]
    shap_bias: float | None = None
    shap_others: float | None = None
    features: dict[str, float | None] | None = None
    stored: StoredScore | None = None


class BatchScoreResponse(BaseModel):
    request_id: str
    results: list[ScoreResponse]


class ModelInfo(BaseModel):
    name: str
    version: str
    threshold: float
    review_band: tuple[float, float]
    feature_count: int
    trained_at: str | None = None
    run_id: str | None = None
    grade_bounds: list[float] = []
    serving_copy: str
    serving_copy_published_at: str
    feature_sql: str | None = None


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: Literal["ready", "not ready"]
    model_version: str | None = None
    serving_copy_published_at: str | None = None
    realtime_features: bool = False
    # how the real-time path reads the mart: "key_join" (its feature tables, laid out as its SQL
    # says) or "mart_sql" (the mart's SQL as is); None without real-time features
    feature_assembly: Literal["key_join", "mart_sql"] | None = None
    lookup_cache: bool = False
    reloads: int = 0
    detail: str | None = None


class ErrorDetail(BaseModel):
    loc: list[str | int] = []
    msg: str
    type: str
    field: str | None = None
    table: str | None = None
    description: str | None = None


class ErrorResponse(BaseModel):
    detail: str | list[ErrorDetail]
