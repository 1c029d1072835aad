//! Charts drawn on the server as inline SVG: no script, no style attribute (the content security
//! policy allows neither), colours from presentation attributes and the stylesheet. Every chart
//! is an image with a title and a description, and the same numbers follow it as a table, so
//! that nothing is only in the picture.

use maud::{html, Markup};

/// One bar: what it stands for, its height, and the value as written under or beside it.
pub(super) struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
}

/// The headings of a chart's table: what the rows are, and what the values are.
pub(super) struct Columns<'a> {
    pub label: &'a str,
    pub value: &'a str,
}

const WIDTH: f64 = 640.0;
const LABELS: f64 = 200.0;
const ROW: f64 = 26.0;
const BAR: f64 = 18.0;
const VALUE_ROOM: f64 = 70.0;

/// The share of `value` in `max`, 0 when there is nothing to divide by.
fn share(value: f64, max: f64) -> f64 {
    if max > 0.0 && value.is_finite() && value > 0.0 {
        (value / max).min(1.0)
    } else {
        0.0
    }
}

fn largest(bars: &[Bar]) -> f64 {
    bars.iter()
        .map(|b| b.value)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
}

/// Numbers as SVG coordinates: one decimal is enough.
fn at(x: f64) -> String {
    format!("{x:.1}")
}

/// A label cut to `max` characters, so that it stays beside its bar.
fn cut(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_owned()
    } else {
        let mut short: String = label.chars().take(max.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// Horizontal bars, one row per bar (categories: reasons, item categories...), then the table.
pub(super) fn bars(
    id: &str,
    title: &str,
    description: &str,
    columns: &Columns<'_>,
    bars: &[Bar],
) -> Markup {
    let max = largest(bars);
    let room = WIDTH - LABELS - VALUE_ROOM;
    let rows = u32::try_from(bars.len()).unwrap_or(u32::MAX);
    let height = f64::from(rows) * ROW + 10.0;
    let marks = html! {
        @for (i, bar) in bars.iter().enumerate() {
            @let y = f64::from(u32::try_from(i).unwrap_or(0)) * ROW + 5.0;
            @let length = share(bar.value, max) * room;
            text x=(at(LABELS - 8.0)) y=(at(y + BAR - 4.0)) text-anchor="end" class="label" {
                (cut(&bar.label, 28))
            }
            rect x=(at(LABELS)) y=(at(y)) width=(at(length)) height=(at(BAR)) class="bar" {}
            text x=(at(LABELS + length + 6.0)) y=(at(y + BAR - 4.0)) class="value" { (bar.shown) }
        }
    };
    figure(
        id,
        title,
        description,
        height,
        marks,
        table_of(title, columns, bars),
    )
}

/// A chart: the SVG image named by its title and described by `description`, `height` high, with
/// its `marks`, then the `table` of its numbers.
fn figure(
    id: &str,
    title: &str,
    description: &str,
    height: f64,
    marks: Markup,
    table: Markup,
) -> Markup {
    html! {
        figure.chart {
            svg id=(id) class="chart" role="img" xmlns="http://www.w3.org/2000/svg"
                viewBox={ "0 0 " (at(WIDTH)) " " (at(height)) }
                width="100%" preserveAspectRatio="xMinYMin meet"
                aria-labelledby={ (id) "-title " (id) "-desc" } {
                title id={ (id) "-title" } { (title) }
                desc id={ (id) "-desc" } { (description) }
                (marks)
            }
            (table)
        }
    }
}

/// Columns over time, left to right, with the value above each and its period under it; then
/// the table.
pub(super) fn columns(
    id: &str,
    title: &str,
    description: &str,
    columns: &Columns<'_>,
    bars: &[Bar],
) -> Markup {
    const HEIGHT: f64 = 240.0;
    const TOP: f64 = 22.0;
    const BOTTOM: f64 = 40.0;
    let max = largest(bars);
    let count = f64::from(u32::try_from(bars.len().max(1)).unwrap_or(1));
    let slot = (WIDTH - 20.0) / count;
    let width = (slot * 0.7).min(60.0);
    let room = HEIGHT - TOP - BOTTOM;
    let marks = html! {
        line x1="10" x2=(at(WIDTH - 10.0)) y1=(at(HEIGHT - BOTTOM)) y2=(at(HEIGHT - BOTTOM)) class="axis" {}
        @for (i, bar) in bars.iter().enumerate() {
            @let middle = 10.0 + slot * (f64::from(u32::try_from(i).unwrap_or(0)) + 0.5);
            @let length = share(bar.value, max) * room;
            @let top = HEIGHT - BOTTOM - length;
            rect x=(at(middle - width / 2.0)) y=(at(top)) width=(at(width)) height=(at(length)) class="bar" {}
            text x=(at(middle)) y=(at(top - 6.0)) text-anchor="middle" class="value" { (bar.shown) }
            text x=(at(middle)) y=(at(HEIGHT - BOTTOM + 16.0)) text-anchor="middle" class="label" {
                (cut(&bar.label, 12))
            }
        }
    };
    figure(
        id,
        title,
        description,
        HEIGHT,
        marks,
        table_of(title, columns, bars),
    )
}

/// The numbers of a chart as a table.
fn table_of(title: &str, columns: &Columns<'_>, bars: &[Bar]) -> Markup {
    html! {
        figcaption {
            table.figures {
                caption { (title) }
                thead { tr {
                    th scope="col" { (columns.label) }
                    th scope="col" { (columns.value) }
                } }
                tbody {
                    @for bar in bars {
                        tr { th scope="row" { (bar.label) } td { (bar.shown) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: f64) -> Bar {
        Bar {
            label: label.to_owned(),
            value,
            shown: if value.is_finite() {
                value.to_string()
            } else {
                "none".to_owned()
            },
        }
    }

    #[test]
    fn the_largest_bar_fills_the_room_and_the_others_are_in_proportion() {
        let html = bars(
            "c",
            "Returns",
            "Returns by reason",
            &Columns {
                label: "Reason",
                value: "Returns",
            },
            &[
                bar("defective", 4.0),
                bar("size_fit", 1.0),
                bar("empty", 0.0),
            ],
        )
        .into_string();
        let room = WIDTH - LABELS - VALUE_ROOM;
        assert!(html.contains(&format!("width=\"{}\"", at(room))), "{html}");
        assert!(
            html.contains(&format!("width=\"{}\"", at(room / 4.0))),
            "{html}"
        );
        assert!(html.contains("width=\"0.0\""), "{html}");
        assert!(
            html.contains("<title id=\"c-title\">Returns</title>"),
            "{html}"
        );
        assert!(
            html.contains("<th scope=\"row\">size_fit</th><td>1</td>"),
            "{html}"
        );
    }

    #[test]
    fn nothing_to_divide_by_draws_empty_columns_not_a_failure() {
        let html = columns(
            "w",
            "Returns per week",
            "none",
            &Columns {
                label: "Week",
                value: "Returns",
            },
            &[bar("2026-11-01", 0.0), bar("2026-11-08", f64::NAN)],
        )
        .into_string();
        assert!(!html.contains("NaN"), "{html}");
        assert_eq!(html.matches("class=\"bar\"").count(), 2, "{html}");
    }

    #[test]
    fn long_labels_are_cut_in_the_picture_but_whole_in_the_table() {
        let long = "a very long category name that does not fit";
        let html = bars(
            "l",
            "t",
            "d",
            &Columns {
                label: "x",
                value: "y",
            },
            &[bar(long, 1.0)],
        )
        .into_string();
        assert!(
            html.contains(&format!("<th scope=\"row\">{long}</th>")),
            "{html}"
        );
        assert!(html.contains('…'), "{html}");
    }
}
