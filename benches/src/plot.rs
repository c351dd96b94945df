//! SVG bar charts of a layer's figures: each case's implementations side by side, bar length
//! relative to the largest median of the case, the min–max range as a whisker.

use crate::Row;
use plotters::prelude::*;
use std::path::Path;

const WIDTH: u32 = 960;
const LABEL_W: i32 = 360;
const BAR_W: i32 = 420;
const LINE_H: i32 = 20;

fn colour(imp: &str) -> RGBColor {
    match imp {
        "overture" => RGBColor(31, 119, 180),
        "rustls" => RGBColor(255, 127, 14),
        "openssl" => RGBColor(44, 160, 44),
        "floor" => RGBColor(127, 127, 127),
        "raw-aead" => RGBColor(148, 103, 189),
        _ => RGBColor(23, 190, 207),
    }
}

/// Writes the chart of `rows` (ratio rows are left out: the bars already sit side by side).
pub(crate) fn write_svg(path: &Path, layer: &str, rows: &[Row]) -> Result<(), String> {
    let figures: Vec<&Row> = rows.iter().filter(|r| r.metric != "ratio").collect();
    let mut cases: Vec<&str> = Vec::new();
    for r in &figures {
        if !cases.contains(&r.case.as_str()) {
            cases.push(&r.case);
        }
    }
    let lines = i32::try_from(figures.len() + cases.len()).map_err(|e| e.to_string())?;
    let height = u32::try_from(50 + lines * LINE_H).map_err(|e| e.to_string())?;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    let err = |e: DrawingAreaErrorKind<_>| format!("{e:?}");
    root.fill(&WHITE).map_err(err)?;
    root.draw(&Text::new(
        format!(
            "{layer}: median (bar), min–max (whisker); longest bar = largest median of the case"
        ),
        (10, 12),
        ("sans-serif", 15).into_font(),
    ))
    .map_err(err)?;
    let mut y = 44;
    for case in cases {
        root.draw(&Text::new(
            case.to_string(),
            (10, y),
            ("sans-serif", 14).into_font().style(FontStyle::Bold),
        ))
        .map_err(err)?;
        y += LINE_H;
        let in_case: Vec<&&Row> = figures.iter().filter(|r| r.case == case).collect();
        let top = in_case
            .iter()
            .map(|r| r.max.max(r.median))
            .fold(0.0_f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let px = |v: f64| LABEL_W + (v / top * f64::from(BAR_W)).round().clamp(0.0, 1e6) as i32;
        for r in in_case {
            let c = colour(&r.imp);
            root.draw(&Text::new(
                format!("  {}", r.imp),
                (10, y),
                ("sans-serif", 13).into_font(),
            ))
            .map_err(err)?;
            root.draw(&Rectangle::new(
                [(LABEL_W, y), (px(r.median), y + LINE_H - 6)],
                c.filled(),
            ))
            .map_err(err)?;
            let mid = y + (LINE_H - 6) / 2;
            root.draw(&PathElement::new(
                vec![(px(r.min), mid), (px(r.max), mid)],
                BLACK.stroke_width(1),
            ))
            .map_err(err)?;
            root.draw(&Text::new(
                format!("{} {}", crate::fmt_num(r.median), r.unit),
                (LABEL_W + BAR_W + 20, y),
                ("sans-serif", 13).into_font(),
            ))
            .map_err(err)?;
            y += LINE_H;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}
