"""The instance schema: every table, every column, its type, unit and meaning.

This module is the single source of truth for the instance format.  The
loader validates against it (with pandera), and ``docs/instance-format.md`` is
generated from it (``python -m optimizer.data.schema > docs/instance-format.md``;
a test checks the document is current).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

SCHEMA_VERSION = 1

#: Stages of the chain (contract, docs/design.md §3) and how far along the chain each one is.
#: Recycling turns scrap back into oxides and alloys, so it stands where separation does.
#: This is the one stage order of the package (reports, tracing, concentration).
STAGE_DEPTH = {
    "mine": 0,
    "separation": 1,
    "recycling": 1,
    "metal": 2,
    "magnet": 3,
    "component": 4,
    "market": 5,
}
STAGES = tuple(STAGE_DEPTH)

#: Identifiers: letters, digits and ``_ . -`` (no spaces, so they survive MPS/LP export).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


@dataclass(frozen=True)
class Col:
    """One column of an instance table."""

    name: str
    dtype: str  # "id" | "str" | "float" | "int" | "period"
    description: str
    unit: str = ""
    required: bool = True  # the column must be present in the header
    nullable: bool = False  # cells may be blank
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    choices: tuple[str, ...] | None = None
    references: str | None = None  # "table.column" this column refers to (documentation)


@dataclass(frozen=True)
class Table:
    """One CSV table of an instance folder."""

    name: str
    description: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ()
    required: bool = True
    numeric_needs_source: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def col(self, name: str) -> Col:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


SOURCE = Col(
    "source",
    "id",
    "Id of the row in `sources.csv` this row's numbers come from. Required on every row "
    "that carries a number; estimates are flagged in the source's `note`.",
    nullable=True,
    references="sources.id",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "commodities",
            "Every material the chain moves: ore concentrates, oxides, metals, alloys, magnets, "
            "components, scrap.",
            (
                Col("id", "id", "Unique commodity id, e.g. `Dy_oxide`."),
                Col("name", "str", "Human-readable name."),
                Col("stage", "str", "Stage of the chain that makes it.", choices=STAGES),
                Col(
                    "unit",
                    "str",
                    "Unit of quantity (tonnes; oxides on REO basis).",
                    required=False,
                    nullable=True,
                ),
                Col(
                    "element",
                    "str",
                    "Rare-earth element(s) it carries (`Nd`, `NdPr`, `Dy`, …); blank for mixed "
                    "products. Used for groups and reports.",
                    required=False,
                    nullable=True,
                ),
                Col(
                    "disposal_cost",
                    "float",
                    "Cost to dispose of one tonne of surplus (e.g. Ce from separation). Blank: "
                    "the commodity cannot be disposed of — every tonne made must be used, "
                    "shipped or stored.",
                    unit="USD/t",
                    required=False,
                    nullable=True,
                    ge=0,
                ),
                Col(
                    "storage_cost",
                    "float",
                    "Cost to hold one tonne in inventory for a year (a period pays it in "
                    "proportion to its length: a month 1/12). Blank: not stored between periods "
                    "(multi-period instances only).",
                    unit="USD/t/year",
                    required=False,
                    nullable=True,
                    ge=0,
                ),
                Col(
                    "value",
                    "float",
                    "End-use value at risk per tonne of demand not served: the value of the "
                    "product or service lost (for a component, per tonne of the magnet it "
                    "embeds). `shortages.csv` reports `unmet_value` = unmet × value; blank: the "
                    "commodity's shortages are reported in tonnes only.",
                    unit="USD/t",
                    required=False,
                    nullable=True,
                    ge=0,
                ),
                replace(SOURCE, required=False),
            ),
            key=("id",),
        ),
        Table(
            "sites",
            "Every place that mines, separates, makes metal, magnets or components, recycles, "
            "or consumes (markets).",
            (
                Col("id", "id", "Unique site id."),
                Col("name", "str", "Human-readable name."),
                Col("country", "str", "ISO 3166-1 alpha-2 country code (`CN`, `US`, `MM`, …)."),
                Col("stage", "str", "Stage of the site.", choices=STAGES),
                Col(
                    "company",
                    "str",
                    "Operating company or group (blank if unknown).",
                    nullable=True,
                ),
                Col("lat", "float", "Latitude.", unit="degrees", nullable=True, ge=-90, le=90),
                Col("lon", "float", "Longitude.", unit="degrees", nullable=True, ge=-180, le=180),
                Col(
                    "represents",
                    "str",
                    "For a site that stands for a region rather than one place (an aggregate "
                    "market such as the EU-27 or the rest of the world): the region's name "
                    "(`European Union`, `Rest of world`). Reports label the site and group it "
                    "by this name in every country view and draw it on the map as a region at "
                    "its coordinates; `country` still decides which policies apply to it "
                    "(blank: a real place).",
                    required=False,
                    nullable=True,
                ),
                SOURCE,
            ),
            key=("id",),
        ),
        Table(
            "recipes",
            "Process recipes: inputs consumed and outputs made per unit of activity. A recipe "
            "with several outputs is co-production (an ore separates into all its oxides at "
            "once, in the deposit's proportions). A recipe with no input is extraction (a mine "
            "or scrap collection).",
            (
                Col("recipe", "id", "Recipe id (several rows share it: one row per commodity)."),
                Col("commodity", "id", "Commodity consumed or made.", references="commodities.id"),
                Col("direction", "str", "`input` or `output`.", choices=("input", "output")),
                Col(
                    "amount",
                    "float",
                    "Tonnes consumed or made per unit of activity (the activity unit is the "
                    "recipe's own, usually one tonne of its main input or output).",
                    unit="t per unit of activity",
                    gt=0,
                    le=1e4,
                ),
                SOURCE,
            ),
            key=("recipe", "commodity", "direction"),
        ),
        Table(
            "processes",
            "Which recipes run where, with capacity and cost. Rows sharing an `id` are "
            "alternative recipes (modes) of one plant and share its capacity — the LP chooses "
            "the mix.",
            (
                Col("id", "id", "Process (plant) id."),
                Col("site", "id", "Site it runs at.", references="sites.id"),
                Col("recipe", "id", "Recipe it runs.", references="recipes.recipe"),
                Col(
                    "capacity",
                    "float",
                    "Most activity per year, shared by all rows of the same `id` (give the "
                    "same value on each, or leave the others blank); a period may use it in "
                    "proportion to its length (a month 1/12). Blank: no limit.",
                    unit="units of activity per year",
                    nullable=True,
                    ge=0,
                ),
                Col(
                    "cost",
                    "float",
                    "Operating cost per unit of activity.",
                    unit="USD per unit of activity",
                    ge=0,
                ),
                Col(
                    "short_run",
                    "str",
                    "In the short run (`horizon: short`): `limited` (default) — the recipe's "
                    "activity may rise at most the stage's `ramp` above the reference plan "
                    "(`short_run.csv`); `free` — no such limit (a stock release, a spare line "
                    "kept ready).",
                    choices=("limited", "free"),
                    required=False,
                    nullable=True,
                ),
                SOURCE,
            ),
            key=("id", "recipe"),
        ),
        Table(
            "links",
            "Lanes that move commodities between sites, with capacity and cost. A lane can "
            "carry one commodity, a group of `instance.yaml`, or `*` (every commodity the "
            "origin can supply and the destination can use); its capacity is shared by all.",
            (
                Col("id", "id", "Unique link id."),
                Col("from_site", "id", "Shipping site.", references="sites.id"),
                Col("to_site", "id", "Receiving site.", references="sites.id"),
                Col(
                    "commodity",
                    "str",
                    "Commodity id, group name (`commodity_groups` in `instance.yaml`) or `*`.",
                ),
                Col(
                    "capacity",
                    "float",
                    "Most tonnes per year over all commodities carried (a month: 1/12 of it). "
                    "Blank: no limit.",
                    unit="t/year",
                    nullable=True,
                    ge=0,
                ),
                Col("cost", "float", "Transport and handling cost.", unit="USD/t", ge=0),
                Col(
                    "transit_days",
                    "float",
                    "Days a shipment spends on the lane (sea freight China-Europe is about six "
                    "weeks). Used by monthly instances only: a tonne shipped in a month arrives "
                    "`transit_days / (365.25/12)` months later, split between the two months the "
                    "delay falls between. The year repeats for what is at sea: what the first "
                    "months receive from before the horizon is what its last months ship "
                    "(their landings after the last month wrap round), so no tonne lands twice "
                    "and an undisrupted monthly year equals the annual one; month-by-month "
                    "decisions take the pipeline from the plan before the disruption. Blank or "
                    "0: arrives in the month shipped. Annual instances ignore it.",
                    unit="days",
                    nullable=True,
                    required=False,
                    ge=0,
                    le=365,
                ),
                Col(
                    "qualified",
                    "str",
                    "In the short run (`horizon: short`), may the lane carry a commodity it did "
                    "not carry in the reference plan? `yes`: the buyer has qualified this "
                    "supplier for it (approved, tested); blank or `no`: it stays shut until the "
                    "long run.",
                    choices=("yes", "no"),
                    required=False,
                    nullable=True,
                ),
                SOURCE,
            ),
            key=("id",),
        ),
        Table(
            "demand",
            "Final demand at market sites. Demand that is not served costs the shortage "
            "penalty (elastic demand: a disruption shows as shortage, never as infeasibility).",
            (
                Col("market", "id", "Market site (stage `market`).", references="sites.id"),
                Col("commodity", "id", "Commodity demanded.", references="commodities.id"),
                Col(
                    "period",
                    "period",
                    "Period (one of `periods` in `instance.yaml`). In a monthly instance a year "
                    "(`2025`) spreads the quantity over that year's months in proportion to "
                    "their length.",
                ),
                Col("quantity", "float", "Quantity demanded in the period.", unit="t/period", ge=0),
                Col(
                    "shortage_penalty",
                    "float",
                    "Cost of each tonne not served. Blank: `defaults.shortage_penalty`.",
                    unit="USD/t",
                    nullable=True,
                    required=False,
                    gt=0,
                ),
                SOURCE,
            ),
            key=("market", "commodity", "period"),
        ),
        Table(
            "stocks",
            "Inventories held at the start of the first period (optional table). Stock can be "
            "drawn down; what is left at the end of a period stays in inventory.",
            (
                Col("site", "id", "Site holding the stock.", references="sites.id"),
                Col("commodity", "id", "Commodity held.", references="commodities.id"),
                Col(
                    "quantity", "float", "Tonnes at the start of the first period.", unit="t", ge=0
                ),
                Col(
                    "keep_cost",
                    "float",
                    "A safety stock: the holder keeps `quantity` on hand and draws on it only "
                    "to avoid a costlier shortage. Each tonne below that level at the end of "
                    "a period costs `defaults.safety_stock_rate` x `keep_cost` per month of the "
                    "period, and at the end of the last period `keep_cost` itself (what the "
                    "tonne would cost to replace), so an undisrupted plan keeps the stock "
                    "steady and a disrupted one rebuilds it when it can. Give about the "
                    "commodity's price at that place. Blank: a stock to be used up freely.",
                    unit="USD/t",
                    nullable=True,
                    required=False,
                    gt=0,
                ),
                SOURCE,
            ),
            key=("site", "commodity"),
            required=False,
        ),
        Table(
            "expansions",
            "Capacity that can be added to a process over the periods (optional table): "
            "candidate projects the LP may build, and committed ones it must. Built capacity "
            "adds to the process's capacity from its first period in service on, and costs "
            "its annualised capex in every period it is in service.",
            (
                Col("id", "id", "Unique project id."),
                Col(
                    "process",
                    "id",
                    "Process whose capacity it adds to (a process with a finite capacity).",
                    references="processes.id",
                ),
                Col(
                    "capacity",
                    "float",
                    "Most capacity the project adds.",
                    unit="units of activity per year",
                    ge=0,
                ),
                Col(
                    "capex",
                    "float",
                    "Annualised capital cost per unit of capacity, paid in every period in "
                    "service in proportion to its length.",
                    unit="USD per unit of capacity per year",
                    ge=0,
                ),
                Col(
                    "earliest",
                    "period",
                    "Earliest period construction can start (a year, or a month in a monthly "
                    "instance).",
                ),
                Col(
                    "lead_time",
                    "int",
                    "Years from the start of construction to service.",
                    unit="years",
                    ge=0,
                    nullable=True,
                    required=False,
                ),
                Col(
                    "committed",
                    "str",
                    "`yes`: built in full (announced and financed); `no` (default): the LP chooses how much.",
                    choices=("yes", "no"),
                    nullable=True,
                    required=False,
                ),
                SOURCE,
            ),
            key=("id",),
            required=False,
        ),
        Table(
            "short_run",
            "How far the chain can move from its reference plan in the short run "
            "(`horizon: short`, docs/horizon.md), per stage of the chain (optional table; a "
            "stage without a row has no short-run limit). The reference plan is the solve of "
            "the undisrupted instance; a `long` horizon ignores this table.",
            (
                Col(
                    "stage",
                    "str",
                    "Stage of the sites (for `ramp`) or of the commodities "
                    "(for `lane_ramp`, `contract`) the row is about.",
                    choices=STAGES,
                ),
                Col(
                    "ramp",
                    "float",
                    "Most each recipe's activity at a process of this stage may rise above its "
                    "reference, as a share of it (0.1: +10%). A process idle in the reference "
                    "stays idle unless its rows say `short_run: free`.",
                    unit="share",
                    ge=0,
                ),
                Col(
                    "lane_ramp",
                    "float",
                    "Most the tonnes of a commodity made at this stage on a lane may rise above "
                    "the reference, as a share of them. Blank: no limit beyond qualification "
                    "(a lane that carried none of it stays shut unless `qualified: yes`).",
                    unit="share",
                    ge=0,
                    nullable=True,
                    required=False,
                ),
                Col(
                    "qualify",
                    "str",
                    "Must a buyer qualify a new supplier of a commodity made at this stage "
                    "(`yes`, the default: a lane that carried none of it in the reference stays "
                    "shut in the short run unless `links.qualified: yes`), or is it a standard "
                    "grade any buyer can take from anyone (`no`: new lanes open)?",
                    choices=("yes", "no"),
                    nullable=True,
                    required=False,
                ),
                Col(
                    "contract",
                    "float",
                    "Share of each customer's reference volume of a commodity made at this stage "
                    "that is contracted: a supplier gives each customer at least this share of "
                    "its reference share of what it still ships (pro-rata rationing). Blank or 0: "
                    "no contracts.",
                    unit="share",
                    ge=0,
                    le=1,
                    nullable=True,
                    required=False,
                ),
                Col(
                    "utilisation",
                    "float",
                    "Capacity utilisation of this stage's plants in the reference year, when "
                    "`processes.capacity` holds their output that year rather than their "
                    "nameplate: in the short run a plant of this stage may run up to its "
                    "capacity / utilisation (idle lines restarted), still within `ramp` of its "
                    "reference; the reference plan itself keeps `capacity`. Blank: `capacity` "
                    "is the nameplate.",
                    unit="share",
                    gt=0,
                    le=1,
                    nullable=True,
                    required=False,
                ),
                Col(
                    "resale_months",
                    "float",
                    "Months a stock of a commodity made at this stage, built in the short run "
                    "because it cannot be sold now (a co-product of a controlled export), is "
                    "held before it is sold at its reference price: any site may end the "
                    "plan's last period holding such a stock, each tonne worth its reference "
                    "price less `defaults.carrying_rate` per month held (docs/horizon.md, "
                    "stock building). Blank: no stock is built for later sale.",
                    unit="months",
                    ge=0,
                    le=60,
                    nullable=True,
                    required=False,
                ),
                SOURCE,
            ),
            key=("stage",),
            required=False,
        ),
        Table(
            "transit",
            "Days in transit between countries (optional table; monthly instances only): a "
            "link without its own `transit_days` takes the days of the first row whose "
            "`from` holds its shipping site's country and whose `to` holds its receiving "
            "site's (a country code or a region of `instance.yaml`). A link no row matches "
            "delivers in the month it ships.",
            (
                Col("from", "str", "Shipping country or region."),
                Col("to", "str", "Receiving country or region."),
                Col(
                    "days",
                    "float",
                    "Days from dispatch to arrival (sea freight, customs, inland).",
                    unit="days",
                    ge=0,
                    le=365,
                ),
                SOURCE,
            ),
            key=("from", "to"),
            required=False,
        ),
        Table(
            "demand_curves",
            "Willingness to pay instead of one shortage penalty (optional table): the demand "
            "rows a curve matches are split into segments priced along a constant-elasticity "
            "curve through (quantity, `price`), so that the price of a shortage comes out of "
            "the model (docs/horizon.md). A row without a curve keeps its single penalty.",
            (
                Col(
                    "commodity",
                    "str",
                    "Commodity id or group (`commodity_groups`) the curve applies to.",
                ),
                Col(
                    "market",
                    "str",
                    "Market site id, country code or region; blank: every market.",
                    nullable=True,
                ),
                Col(
                    "price",
                    "float",
                    "Reference price: what a tonne sells for when demand is fully served.",
                    unit="USD/t",
                    gt=0,
                ),
                Col(
                    "elasticity",
                    "float",
                    "Price elasticity of demand (negative): -0.1 means a 10% cut in what is "
                    "served raises the price by about 2.9x (0.9^(1/-0.1)).",
                    ge=-10,
                    le=-0.01,
                ),
                Col(
                    "max_price",
                    "float",
                    "Most any buyer pays per tonne (the value of what is lost without it). "
                    "Blank: the demand row's shortage penalty.",
                    unit="USD/t",
                    gt=0,
                    nullable=True,
                    required=False,
                ),
                Col(
                    "expand",
                    "float",
                    "Extra demand available below the reference price, as a share of the "
                    "quantity (buyers who use more when it is cheaper). Blank: 0.",
                    unit="share",
                    ge=0,
                    le=1,
                    nullable=True,
                    required=False,
                ),
                SOURCE,
            ),
            key=("commodity", "market"),
            required=False,
        ),
        Table(
            "emissions",
            "Emission and waste factors per unit of activity (optional table): what a recipe "
            "releases or leaves behind — radioactive residue, tailings, ammonium-sulfate "
            "leachate, CO2 — at every process that runs it, or at one process. They change "
            "nothing on their own; `environmental_cap` policies (docs/policies.md) limit their "
            "sum at sites or in a country or region.",
            (
                Col("recipe", "id", "Recipe whose activity emits.", references="recipes.recipe"),
                Col(
                    "process",
                    "id",
                    "Process (plant) the factor applies to. Blank: every process that runs the "
                    "recipe; a row naming a process replaces the blank-process row there.",
                    required=False,
                    nullable=True,
                    references="processes.id",
                ),
                Col(
                    "pollutant",
                    "id",
                    "Pollutant or indicator id, e.g. `radioactive_residue`, `tailings`, "
                    "`nh4_leachate`, `co2e`.",
                ),
                Col(
                    "factor",
                    "float",
                    "Amount released or left per unit of activity of the recipe.",
                    unit="pollutant unit per unit of activity",
                    ge=0,
                ),
                Col(
                    "unit",
                    "str",
                    "Unit of the amount (`t`, `m3`, `t CO2e`; one per pollutant); caps are in it.",
                    required=False,
                    nullable=True,
                ),
                SOURCE,
            ),
            key=("recipe", "process", "pollutant"),
            required=False,
        ),
        Table(
            "sources",
            "Where every number comes from. Estimates say so in `note`.",
            (
                Col("id", "id", "Unique source id, referenced by `source` columns."),
                Col("title", "str", "Title of the document or dataset."),
                Col("publisher", "str", "Publisher or author.", nullable=True),
                Col("year", "int", "Year of publication.", nullable=True, ge=1900, le=2100),
                Col("url", "str", "Where to find it.", nullable=True),
                Col(
                    "note", "str", "What was taken from it; `[E]` marks an estimate.", nullable=True
                ),
            ),
            key=("id",),
            numeric_needs_source=False,
        ),
    )
}


def render_markdown() -> str:
    """The table part of ``docs/instance-format.md``, generated from :data:`TABLES`."""
    out = []
    for t in TABLES.values():
        out.append(f"### `{t.file}`{'' if t.required else ' (optional)'}\n")
        out.append(t.description + "\n")
        if t.key:
            out.append(f"Key (unique per row): {', '.join(f'`{k}`' for k in t.key)}.\n")
        out.append("| column | type | unit | required | blank allowed | meaning |")
        out.append("|---|---|---|---|---|---|")
        for c in t.columns:
            rng = []
            if c.ge is not None:
                rng.append(f"≥ {c.ge:g}")
            if c.gt is not None:
                rng.append(f"> {c.gt:g}")
            if c.le is not None:
                rng.append(f"≤ {c.le:g}")
            if c.choices:
                rng.append("one of " + ", ".join(f"`{x}`" for x in c.choices))
            if c.references:
                rng.append(f"refers to `{c.references}`")
            typ = {
                "id": "identifier",
                "str": "text",
                "float": "number",
                "int": "integer",
                "period": "period (year or YYYY-MM)",
            }[c.dtype]
            if rng:
                typ += " (" + "; ".join(rng) + ")"
            out.append(
                f"| `{c.name}` | {typ} | {c.unit or '—'} | {'yes' if c.required else 'no'} "
                f"| {'yes' if c.nullable else 'no'} | {c.description} |"
            )
        out.append("")
    return "\n".join(out)


BEGIN = "<!-- BEGIN GENERATED from optimizer/data/schema.py: python -m optimizer.data.schema docs/instance-format.md -->"
END = "<!-- END GENERATED -->"


def updated_doc(text: str) -> str:
    """``text`` with the generated region between the markers replaced by :func:`render_markdown`."""
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + BEGIN + "\n" + render_markdown() + END + tail


if __name__ == "__main__":  # pragma: no cover - documentation generator
    import sys
    from pathlib import Path

    doc = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/instance-format.md")
    doc.write_text(updated_doc(doc.read_text()))
