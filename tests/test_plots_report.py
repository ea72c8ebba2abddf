"""Figures and report: every file written, readable, self-contained; findings computed right."""

from __future__ import annotations

import base64
import dataclasses
import re
import struct
from pathlib import Path

import html5lib
import matplotlib.colors
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim import chainplot, plot_panels, plots, report, sources
from sim.experiment import Results

from .conftest import ROOT, SMALL

DRILL = ROOT / "scenarios" / "drill.yaml"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPECTED = ["ecdf_supply", "ecdf_emergency", "p95_by_variant", "stages_by_variant",
            "utilisation_by_level", "tradeoff", "chain_five_levels", "chain_three_levels"]


@pytest.fixture(scope="module")
def results() -> Results:
    return sim.run(SMALL, replications=2)


@pytest.fixture(scope="module")
def written(results: Results, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    folder = tmp_path_factory.mktemp("out")
    figures = plots.write_figures(results, folder / "figures")
    page = folder / "report.html"
    report.write_report(results, figures, page, SMALL)
    return figures, page


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# ---- figures -----------------------------------------------------------------------------------


def test_every_figure_written_in_a_stable_order(written: tuple[list[Path], Path]) -> None:
    figures, _ = written
    assert [p.stem for p in figures] == EXPECTED
    for path in figures:
        assert path.is_file()
        assert path.stat().st_size > 10_000, f"{path.name} looks empty"
        width, height = png_size(path)
        assert width >= 400 and height >= 200, (path.name, width, height)


def test_figures_are_byte_identical_when_redrawn(results: Results, tmp_path: Path,
                                                 written: tuple[list[Path], Path]) -> None:
    figures, _ = written
    again = plots.write_figures(results, tmp_path / "again")
    for first, second in zip(figures, again, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_flow_kinds_list_every_severity_even_without_requests(results: Results) -> None:
    keys = plots.flow_kinds(results)
    assert keys[:2] == [("supply", "order"), ("supply", "package")]
    assert [k for f, k in keys if f == "emergency"] == list(results.scenario.emergency.severities)


def test_made_pairs_read_off_the_books_are_the_request_rows_pairs(results: Results,
                                                                 tmp_path: Path) -> None:
    """Figures ask for the (flow, kind) pairs from the conservation table: the same set as
    the request rows hold, in memory and read back; none without rows."""
    rows = set(map(tuple, results.requests[["flow", "kind"]].drop_duplicates().to_numpy()))
    assert len(rows) >= 3
    assert plot_panels.made_pairs(results) == rows
    results.save(tmp_path / "saved", figures=False)
    assert plot_panels.made_pairs(Results.load(tmp_path / "saved")) == rows
    books = results.conservation
    thinner = dataclasses.replace(results, conservation=books[books["flow"] != "supply"])
    assert plot_panels.made_pairs(thinner) == {p for p in rows if p[0] != "supply"}
    bare = dataclasses.replace(results, requests=results.requests.iloc[:0], kept_requests=False)
    assert plot_panels.made_pairs(bare) == set()


def test_chain_leaves_name_what_lies_below(results: Results,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    graph = results.chains["five_levels"]

    def texts(figure) -> list[str]:  # noqa: ANN001
        return [t.get_text() for ax in figure.axes for t in ax.texts]

    grid_label = next(t for t in texts(plots.chain_figure(graph, "five_levels"))
                      if t.startswith("G0001 "))
    assert grid_label.endswith(f"{graph.nodes['G0001']['households']} hh")
    buildings = sum(1 for c in graph.successors("G0001")
                    if graph.nodes[c]["level_name"] == "building")
    assert f"{buildings} building head" in grid_label
    # too many leaves: the drawing stops at a higher level
    monkeypatch.setattr(chainplot, "MAX_LEAVES", 1)
    labels = texts(plots.chain_figure(graph, "five_levels"))
    assert any(t.startswith("Z0001 ") and "community head" in t for t in labels)
    assert not any(t.startswith("G0001 ") for t in labels)


def test_time_unit_switches_to_hours_beyond_three_hours() -> None:
    assert plots.time_unit(120) == (1.0, "min")
    assert plots.time_unit(600) == (60.0, "h")
    assert plots.time_unit(float("nan")) == (1.0, "min")


def test_legends_sit_outside_the_curves_and_coinciding_variants_differ(results: Results) -> None:
    figure = plots.ecdf_figure(results, "emergency")
    assert all(ax.get_legend() is None for ax in figure.axes), "no legend over the curves"
    assert len(figure.legends) == 1
    styles = [(line.get_linestyle(), line.get_marker()) for line in figure.axes[0].lines
              if line.get_label() in results.variants]  # each curve names its variant
    assert len(styles) == len(results.variants) == len(set(styles)), styles
    bands = [c for c in figure.axes[0].collections if c.get_paths()]
    assert bands, "a band across replications under the lines"


def test_ecdf_band_is_the_interval_across_replications() -> None:
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    curves = np.array([plot_panels._share_within(np.array([0.5, 1.5, np.nan]), grid),
                       plot_panels._share_within(np.array([0.5, 2.5, 2.5]), grid)])
    assert curves.tolist() == [[0, 1 / 3, 2 / 3, 2 / 3], [0, 1 / 3, 1 / 3, 1.0]]
    mean, low, high = plot_panels._band(curves)
    half = stats.t.ppf(0.975, 1) * curves.std(axis=0, ddof=1) / np.sqrt(2)
    assert mean.tolist() == pytest.approx(curves.mean(axis=0).tolist())
    assert high.tolist() == pytest.approx(np.clip(mean + half, 0, 1).tolist())
    assert low.tolist() == pytest.approx(np.clip(mean - half, 0, 1).tolist())


def test_target_labels_stay_clear_of_bar_labels(results: Results) -> None:
    for figure in (plots.p95_figure(results), plots.tradeoff_figure(results)):
        for ax in figure.axes:
            assert not any("target" in t.get_text() for t in ax.texts), "target in the title"
            if ax.get_visible() and ax.get_title():
                assert "target" in ax.get_title()


def test_every_stage_has_a_strong_distinct_colour() -> None:
    colours = [matplotlib.colors.to_rgb(plot_panels.STAGE_COLOURS[s])
               for s in plot_panels.STAGE_ORDER if s != "vehicles"]  # vehicles: old name of vehicle
    assert len(set(colours)) == len(colours)
    for rgb in colours:  # relative luminance: nothing pale on a white page
        assert 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] < 0.75, rgb


def test_utilisation_figure_stays_page_wide(written: tuple[list[Path], Path]) -> None:
    figures, _ = written
    path = next(p for p in figures if p.stem == "utilisation_by_level")
    assert png_size(path)[0] <= plots.UTILISATION_WIDTH * plots.DPI + 1


# ---- report ------------------------------------------------------------------------------------


def test_report_is_valid_html_and_opens_with_the_decision(
        results: Results, written: tuple[list[Path], Path]) -> None:
    _, page = written
    text = page.read_text(encoding="utf-8")
    html5lib.HTMLParser(strict=True).parse(text)  # raises on any parse error
    ids = re.findall(r'<section id="([a-z]+)">', text)
    assert ids == [s for s in report.SECTION_ORDER if s in ids]
    assert ids[:3] == ["decision", "inputs", "findings"] and ids[-1] == "groups"
    assert {"comparison", "figures", "conservation"} <= set(ids)
    assert text.index('<section id="decision">') < text.index("<figure")
    assert text.index('<section id="decision">') < text.index("<h3>supply order delivery")
    decision = text[text.index('<section id="decision">'):text.index('<section id="inputs">')]
    for variant in results.variants:
        assert variant in decision
    assert "Censored at the horizon" in decision


def test_a_flow_adds_its_own_section_by_one_call(results: Results, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "EXTRA_SECTIONS", [])
    report.add_section(lambda res, figs: f'<section id="notices"><h2>{len(figs)}</h2></section>')
    report.write_report(results, [], tmp_path / "r.html")
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert text.index('id="comparison"') < text.index('id="notices"') < text.index('id="costs"')


def test_inputs_carry_the_source_tags_of_the_scenario_file() -> None:
    scenario = sim.load_scenario(DRILL)
    found = {i.path: i for i in sources.inputs(scenario, DRILL)}
    assert found["emergency.ambulances.count"].value == 2
    assert "assumption" in found["emergency.ambulances.count"].tags
    assert found["heads.floor.staff"].tags == ("sourced",)
    assert found["emergency.severities.critical.target"].tags == ("derived",)
    assert "planner's choice" in found["emergency.severities.critical.required_share"].note
    untagged = [path for path, item in found.items() if not item.tags]
    assert not untagged, "every deciding number of the drill is tagged"
    changed = sim.override(scenario, {"emergency.ambulances.count": 4})
    item = {i.path: i for i in sources.inputs(changed, DRILL)}["emergency.ambulances.count"]
    assert (item.value, item.tags) == (4, ("set for this run",))
    assert all(not i.tags and not i.note for i in sources.inputs(scenario))


def test_comments_are_read_key_by_key() -> None:
    assert sources._inline('a: "x # not a comment"  # a note') == "a note"
    assert sources._inline("note: the planner's choice  # a note") == "a note"
    assert sources._inline("url: a#b") == ""
    assert sources.tags("share assumption; target derived from reports") == (
        "derived", "assumption")


def test_report_is_one_self_contained_file(results: Results,
                                           written: tuple[list[Path], Path]) -> None:
    figures, page = written
    text = page.read_text(encoding="utf-8")
    assert results.scenario.name in text
    assert results.scenario.description in text
    assert "<script" not in text.lower()
    sources = re.findall(r"src='([^']*)'", text)
    assert len(sources) == len(figures)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert base64.b64decode(sources[0].split(",", 1)[1]) == figures[0].read_bytes()
    assert not re.search(r"(href|src)=['\"](?!data:)", text)
    for heading in ("Findings", "Comparison", "Household groups", "Conservation"):
        assert f"<h2>{heading}</h2>" in text
    assert "Every run balances" in text
    for sentence in report.findings(results):
        assert report._e(sentence) in text


def test_report_escapes_text(results: Results, tmp_path: Path) -> None:
    scenario = results.scenario.model_copy(update={"description": "<b>A & B</b>"})
    report.write_report(dataclasses.replace(results, scenario=scenario), [], tmp_path / "r.html")
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;A &amp; B&lt;/b&gt;" in text
    assert "<b>A & B</b>" not in text


def test_no_requests_and_one_replication_still_draw_and_report(results: Results,
                                                               tmp_path: Path) -> None:
    def supply_only(table: pd.DataFrame) -> pd.DataFrame:
        return table[table["flow"] == "supply"].reset_index(drop=True)

    summary = supply_only(results.summary)
    summary[[c for c in summary if c.endswith("_hw")]] = np.nan  # as with one replication
    thin = dataclasses.replace(
        results, requests=supply_only(results.requests), summary=summary,
        per_replication=supply_only(results.per_replication)
        .query("replication == 0").reset_index(drop=True),
        stage_totals=supply_only(results.stage_totals),
        conservation=supply_only(results.conservation))
    figures = plots.write_figures(thin, tmp_path / "figures")
    assert [p.stem for p in figures] == EXPECTED
    report.write_report(thin, figures, tmp_path / "report.html")
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No such request in any run." in text
    assert "too few for a confidence interval" in text


def test_empty_results_do_not_break_anything(results: Results, tmp_path: Path) -> None:
    empty = dataclasses.replace(
        results, requests=results.requests.iloc[:0], summary=pd.DataFrame(),
        per_replication=pd.DataFrame(), stage_totals=pd.DataFrame(),
        heads=results.heads.iloc[:0], conservation=pd.DataFrame())
    figures = plots.write_figures(empty, tmp_path / "figures")
    assert len(figures) == len(EXPECTED)
    report.write_report(empty, figures, tmp_path / "report.html")
    assert report.findings(empty) == [
        "No request was answered in any run: there is nothing to compare."]


# ---- findings ----------------------------------------------------------------------------------


def paired(results: Results, reference: list[float], variant: list[float],
           group: str = "all", reference_group: str = "all",
           variants: tuple[str, str] = ("five_levels", "three_levels")) -> Results:
    """Results whose per-replication p95 of supply orders are the given values."""
    rows = [{"variant": name, "flow": "supply", "kind": "order", "household_group": g,
             "replication": rep, "p95": value, "within_target": 1.0}
            for name, g, values in ((variants[0], reference_group, reference),
                                    (variants[1], group, variant))
            for rep, value in enumerate(values)]
    return dataclasses.replace(results, per_replication=pd.DataFrame(rows))


def heads_gap(results: Results) -> int:
    heads = results.costs.groupby("variant")["heads"].sum()
    return int(heads["five_levels"] - heads["three_levels"])


def test_findings_state_a_clear_difference(results: Results) -> None:
    crafted = paired(results, [100.0, 110.0, 120.0], [50.0, 61.0, 69.0])
    (sentence,) = report.findings(crafted)
    half_width = stats.t.ppf(0.975, 2) * 1.0 / np.sqrt(3)  # differences -50, -49, -51
    assert sentence.startswith("three_levels cut p95 supply order delivery")
    assert "from 110.0 min to 60.0 min" in sentence
    assert f"-50.0 min ± {half_width:.1f} min" in sentence
    assert f"with {heads_gap(results)} fewer heads" in sentence
    assert "no clear difference" not in sentence


def test_findings_state_a_lengthening_in_hours(results: Results) -> None:
    crafted = paired(results, [600.0, 620.0, 640.0], [900.0, 925.0, 935.0])
    (sentence,) = report.findings(crafted)
    assert sentence.startswith("three_levels lengthened p95 supply order delivery")
    assert "from 10.3 h to 15.3 h" in sentence


def test_findings_say_no_clear_difference_when_the_interval_straddles_zero(
        results: Results) -> None:
    crafted = paired(results, [100.0, 110.0, 120.0], [110.0, 98.0, 123.0])
    (sentence,) = report.findings(crafted)
    assert sentence.startswith("three_levels: no clear difference in p95 supply order")
    assert "includes zero" in sentence


def test_findings_pair_by_replication_not_by_pooling(results: Results) -> None:
    # Replications differ a lot, but three_levels is 5 min faster in every one of them:
    # overlapping marginal CIs, yet a clear paired difference.
    crafted = paired(results, [100.0, 300.0, 500.0], [95.0, 294.0, 496.0])
    (sentence,) = report.findings(crafted)
    assert sentence.startswith("three_levels cut")


def test_findings_with_one_replication_cannot_tell(results: Results) -> None:
    (sentence,) = report.findings(paired(results, [100.0], [50.0]))
    assert "no clear difference" in sentence
    assert "too few" in sentence


def test_findings_flag_a_household_group_that_waits_longer(results: Results) -> None:
    crafted = paired(results, [100.0, 110.0, 120.0], [150.0, 161.0, 169.0],
                     group="elderly", variants=("five_levels", "five_levels"))
    sentences = report.findings(crafted)
    assert any(s.startswith("Under five_levels, elderly households waited longer")
               for s in sentences), sentences
    calm = paired(results, [100.0, 110.0, 120.0], [90.0, 112.0, 121.0],
                  group="elderly", variants=("five_levels", "five_levels"))
    assert not any("waited longer" in s for s in report.findings(calm))
    tiny = paired(results, [100.0, 110.0, 120.0], [101.0, 111.1, 120.9],
                  group="elderly", variants=("five_levels", "five_levels"))
    assert not any("waited longer" in s for s in report.findings(tiny))


def test_findings_say_identical_when_every_replication_agrees(results: Results) -> None:
    (sentence,) = report.findings(paired(results, [100.0, 110.0], [100.0, 110.0]))
    assert sentence.startswith("three_levels: the same p95 supply order delivery as five_levels")
