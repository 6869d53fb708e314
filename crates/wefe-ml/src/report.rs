//! Evaluation charts as PNG bytes: the ROC curve of a scored hold-out set and
//! the loss per epoch of a training run, ready to be served or stored.
//!
//! Everything is drawn in memory (no file, no system font): text uses Noto
//! Sans Regular (Apache-2.0), embedded in the binary by the `ttf-noto-sans`
//! crate, so the charts render the same on a bare server without fontconfig.
//!
//! ```
//! use wefe_ml::report;
//! let scores = [0.1, 0.4, 0.35, 0.8];
//! let labels = [0.0, 0.0, 1.0, 1.0];
//! let png = report::roc_png(&scores, &labels, "job 7 — hold-out").unwrap();
//! assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
//! ```

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, ScaleFont, point};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

use crate::data::check_labels;
use crate::logistic::EpochStats;
use crate::{Error, Result, metrics};

/// Width and height of every chart, in pixels.
const SIZE: (u32, u32) = (800, 600);

/// The family plotters asks for by default (captions, tick labels, legends).
const FONT_FAMILY: &str = "sans-serif";

/// The embedded font, parsed and registered with plotters once per process
/// (plotters' `ab_glyph` font table is global and empty until something
/// registers). plotters measures text with it; [`TextFix`] draws it.
fn font() -> Result<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| {
        register_font(FONT_FAMILY, FontStyle::Normal, ttf_noto_sans::REGULAR).ok()?;
        FontRef::try_from_slice(ttf_noto_sans::REGULAR).ok()
    })
    .as_ref()
    .ok_or_else(|| Error::Plot("the embedded Noto Sans font does not parse".into()))
}

fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Plot(e.to_string())
}

/// Points of the ROC curve (false-positive rate, true-positive rate), from (0,0) to (1,1), ties grouped.
///
/// Rows are taken in decreasing score; rows with equal scores move the curve
/// together (one diagonal step), so the trapezoid area under the points equals
/// [`metrics::auc`]. Labels are `0.0`/`1.0`; scores are any finite reals.
///
/// Errors: [`Error::Shape`] if the lengths differ, [`Error::BadLabel`] for a
/// label other than 0 or 1, [`Error::NonFinite`] for a NaN or infinite score,
/// [`Error::Undefined`] if there are no rows or only one class.
///
/// ```
/// let points = wefe_ml::report::roc_curve(&[0.9, 0.2, 0.6], &[1.0, 0.0, 0.0]).unwrap();
/// assert_eq!(points, [(0.0, 0.0), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0)]);
/// ```
pub fn roc_curve(scores: &[f64], labels: &[f64]) -> Result<Vec<(f64, f64)>> {
    check_labels("ROC labels", labels, scores.len())?;
    if let Some(row) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::NonFinite { what: "ROC scores", row, column: 0, value: scores[row] });
    }
    let pos = labels.iter().filter(|&&y| y == 1.0).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(Error::Undefined("ROC curve needs both classes".into()));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut points = Vec::with_capacity(order.len() + 1);
    points.push((0.0, 0.0));
    for (k, &i) in order.iter().enumerate() {
        if labels[i] == 1.0 {
            tp += 1;
        } else {
            fp += 1;
        }
        // A threshold can only fall between distinct scores.
        if order.get(k + 1).is_none_or(|&next| scores[next] != scores[i]) {
            points.push((fp as f64 / neg as f64, tp as f64 / pos as f64));
        }
    }
    Ok(points)
}

/// A 800x600 PNG of the ROC curve with the diagonal, axis labels, and the AUC in the title (`title` is prefixed, e.g. "job 7 — hold-out").
///
/// The caption reads `"{title} — ROC, AUC = 0.8750"` (just `"ROC, AUC = …"`
/// when `title` is empty). Errors are those of [`roc_curve`], plus
/// [`Error::Plot`] if drawing or encoding fails.
pub fn roc_png(scores: &[f64], labels: &[f64], title: &str) -> Result<Vec<u8>> {
    let points = roc_curve(scores, labels)?;
    let auc = metrics::auc(scores, labels)?;
    let caption =
        if title.is_empty() { format!("ROC, AUC = {auc:.4}") } else { format!("{title} — ROC, AUC = {auc:.4}") };
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT_FAMILY, 26))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("False positive rate")
            .y_desc("True positive rate")
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .axis_desc_style((FONT_FAMILY, 18))
            .label_style((FONT_FAMILY, 14))
            .draw()
            .map_err(plot_err)?;
        let chance = ShapeStyle::from(&BLACK.mix(0.5)).stroke_width(1);
        chart
            .draw_series(DashedLineSeries::new([(0.0, 0.0), (1.0, 1.0)], 6, 4, chance))
            .map_err(plot_err)?
            .label("chance")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], chance));
        let curve = BLUE.stroke_width(2);
        chart
            .draw_series(LineSeries::new(points, curve))
            .map_err(plot_err)?
            .label("ROC")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], curve));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT_FAMILY, 16))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)
    })
}

/// A 800x600 PNG of training loss and (when present) validation loss per epoch (x = epoch number starting at 1), with a legend.
///
/// Epoch `e` of [`EpochStats`] (0-based) is drawn at `x = e + 1`. The
/// validation line joins the epochs that have a validation loss and is left
/// out when none has. Errors: [`Error::InvalidParams`] for an empty history,
/// [`Error::NonFinite`] for a NaN or infinite loss (`row` is its index in
/// `history`), [`Error::Plot`] if drawing or encoding fails.
///
/// ```
/// use wefe_ml::logistic::EpochStats;
/// let history = [
///     EpochStats { epoch: 0, train_loss: 0.69, validation_loss: Some(0.70) },
///     EpochStats { epoch: 1, train_loss: 0.52, validation_loss: Some(0.55) },
/// ];
/// let png = wefe_ml::report::loss_png(&history, "job 7").unwrap();
/// assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
/// ```
pub fn loss_png(history: &[EpochStats], title: &str) -> Result<Vec<u8>> {
    loss_chart(history, title, "Epoch", "loss per epoch")
}

/// The loss after each tree of a boosted model (training and, if any,
/// validation), as PNG.
pub fn tree_loss_png(history: &[crate::secureboost::TreeStats], title: &str) -> Result<Vec<u8>> {
    let as_epochs: Vec<EpochStats> = history
        .iter()
        .map(|s| EpochStats { epoch: s.tree, train_loss: s.train_loss, validation_loss: s.validation_loss })
        .collect();
    loss_chart(&as_epochs, title, "Trees", "loss per tree")
}

/// A bar chart of named values (largest first; at most `MAX_BARS` shown),
/// e.g. the information value per feature or the gain per feature, as PNG.
pub fn bar_png(items: &[(String, f64)], title: &str, y_desc: &str) -> Result<Vec<u8>> {
    if items.is_empty() {
        return Err(Error::InvalidParams("bar chart of nothing".into()));
    }
    if let Some((row, (_, v))) = items.iter().enumerate().find(|(_, (_, v))| !v.is_finite()) {
        return Err(Error::NonFinite { what: "bar chart value", row, column: 0, value: *v });
    }
    let mut sorted: Vec<&(String, f64)> = items.iter().collect();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
    sorted.truncate(MAX_BARS);
    let hi = sorted.iter().map(|i| i.1).fold(0.0f64, f64::max).max(1e-9) * 1.1;
    let lo = sorted.iter().map(|i| i.1).fold(0.0f64, f64::min);
    let n = sorted.len() as u32;
    let names: Vec<String> = sorted
        .iter()
        .map(|i| {
            if i.0.chars().count() > 14 {
                format!("{}…", i.0.chars().take(13).collect::<String>())
            } else {
                i.0.clone()
            }
        })
        .collect();
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT_FAMILY, 24))
            .margin(20)
            .x_label_area_size(110)
            .y_label_area_size(70)
            .build_cartesian_2d((0..n).into_segmented(), lo..hi)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n as usize)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_style(
                (FONT_FAMILY, 13).into_font().transform(plotters::style::FontTransform::Rotate90).color(&BLACK),
            )
            .y_desc(y_desc)
            .y_label_formatter(&|y| format!("{y:.3}"))
            .axis_desc_style((FONT_FAMILY, 18))
            .label_style((FONT_FAMILY, 14))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(sorted.iter().enumerate().map(|(i, item)| {
                let x0 = SegmentValue::Exact(i as u32);
                let x1 = SegmentValue::Exact(i as u32 + 1);
                let mut bar = Rectangle::new([(x0, 0.0), (x1, item.1)], BLUE.mix(0.7).filled());
                bar.set_margin(0, 0, 4, 4);
                bar
            }))
            .map_err(plot_err)?;
        Ok(())
    })
}

/// Most bars a bar chart shows.
pub const MAX_BARS: usize = 40;

fn loss_chart(history: &[EpochStats], title: &str, x_desc: &str, what: &str) -> Result<Vec<u8>> {
    if history.is_empty() {
        return Err(Error::InvalidParams("loss chart of an empty training history".into()));
    }
    let x = |s: &EpochStats| s.epoch.saturating_add(1);
    let train: Vec<(u32, f64)> = history.iter().map(|s| (x(s), s.train_loss)).collect();
    let validation: Vec<(u32, f64)> = history.iter().filter_map(|s| Some((x(s), s.validation_loss?))).collect();
    for (row, s) in history.iter().enumerate() {
        for (what, value) in [("training loss", Some(s.train_loss)), ("validation loss", s.validation_loss)] {
            if let Some(value) = value.filter(|v| !v.is_finite()) {
                return Err(Error::NonFinite { what, row, column: 0, value });
            }
        }
    }

    let first = train.iter().map(|p| p.0).min().unwrap_or(1);
    // A one-epoch history still needs a non-empty x range.
    let last = train.iter().map(|p| p.0).max().unwrap_or(1).max(first + 1);
    let (lo, hi) = train
        .iter()
        .chain(&validation)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, y)| (lo.min(y), hi.max(y)));
    let pad = (0.05 * (hi - lo)).max(1e-3 * hi.abs().max(1.0));
    // Log-loss is never negative: do not show negative values below a low minimum.
    let y_range = if lo >= 0.0 { (lo - pad).max(0.0)..hi + pad } else { lo - pad..hi + pad };
    let caption = if title.is_empty() { what.to_owned() } else { format!("{title} — {what}") };

    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT_FAMILY, 26))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(first..last, y_range)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("Log-loss")
            .y_label_formatter(&|y| format!("{y:.3}"))
            .axis_desc_style((FONT_FAMILY, 18))
            .label_style((FONT_FAMILY, 14))
            .draw()
            .map_err(plot_err)?;
        let series = [("training loss", &train, BLUE), ("validation loss", &validation, RED)];
        for (name, points, color) in series.into_iter().filter(|(_, points, _)| !points.is_empty()) {
            let line = color.stroke_width(2);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), line))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], line));
            // Markers keep a single epoch (a line of one point) visible.
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT_FAMILY, 16))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)
    })
}

/// Runs `draw` on a white 800x600 RGB canvas and encodes the result as PNG.
fn render(draw: impl FnOnce(&DrawingArea<TextFix<'_>, plotters::coord::Shift>) -> Result<()>) -> Result<Vec<u8>> {
    let font = font()?;
    let (width, height) = SIZE;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = TextFix { inner: BitMapBackend::with_buffer(&mut rgb, SIZE), font }.into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    encode_png(&rgb, width, height)
}

/// [`BitMapBackend`] with its text drawing replaced.
///
/// plotters 0.3.7's `ab_glyph` renderer places each glyph's ink at the pen
/// position, dropping the glyph's left side bearing, so letters collide
/// ("job" reads "jpb"). This draws the glyphs at their true positions and
/// keeps plotters' layout (text size, anchors, rotation) and vertical
/// placement; everything else goes to the bitmap backend unchanged.
struct TextFix<'a> {
    inner: BitMapBackend<'a>,
    font: &'static FontRef<'static>,
}

type BitmapError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

impl DrawingBackend for TextFix<'_> {
    type ErrorType = BitmapError;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> std::result::Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> std::result::Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> std::result::Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: plotters_backend::BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> std::result::Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: plotters_backend::BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> std::result::Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> std::result::Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: plotters_backend::BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> std::result::Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> std::result::Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> std::result::Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    /// plotters-backend's default `draw_text` (anchor, rotation, clipping)
    /// around a glyph loop that keeps each glyph's bearing.
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> std::result::Result<(), DrawingErrorKind<BitmapError>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let ((min_x, min_y), (max_x, max_y)) =
            style.layout_box(text).map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -(max_x - min_x),
            HPos::Center => -(max_x - min_x) / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -(max_y - min_y) / 2,
            VPos::Bottom => -(max_y - min_y),
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        let size = style.size() as f32;
        let font = self.font.as_scaled(size);
        let mut coverage = Vec::new();
        let (mut pen, mut prev) = (0.0f32, None);
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(prev) = prev {
                pen += font.kern(prev, id);
            }
            prev = Some(id);
            // Baseline at size/2 below the layout top, as plotters places it.
            if let Some(outline) = font.outline_glyph(id.with_scale_and_position(size, point(pen, size / 2.0))) {
                let bounds = outline.px_bounds();
                let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
                outline.draw(|x, y, a| coverage.push((left + x as i32, top + y as i32, a)));
            }
            pen += font.h_advance(id);
        }
        for (x, y, a) in coverage {
            let (x, y) = transform.transform(x + dx - min_x, y + dy - min_y);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if x >= 0 && x < w as i32 && y >= 0 && y < h as i32 {
                let alpha = color.alpha * f64::from(a.clamp(0.0, 1.0));
                self.inner.draw_pixel((x, y), BackendColor { alpha, rgb: color.rgb })?;
            }
        }
        Ok(())
    }
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(plot_err)?;
    writer.write_image_data(rgb).map_err(plot_err)?;
    writer.finish().map_err(plot_err)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

    /// Decodes a PNG made here into (width, height, RGB pixels).
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Rgb, png::BitDepth::Eight));
        pixels.truncate(info.buffer_size());
        (info.width, info.height, pixels)
    }

    /// Trapezoid area under a polyline of (x, y) points.
    fn trapezoid(points: &[(f64, f64)]) -> f64 {
        points.windows(2).map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0).sum()
    }

    fn history(validation: bool) -> Vec<EpochStats> {
        (0..12)
            .map(|e| {
                let t = 0.69 * (-0.2 * f64::from(e)).exp() + 0.2;
                EpochStats { epoch: e, train_loss: t, validation_loss: validation.then_some(t + 0.03) }
            })
            .collect()
    }

    #[test]
    fn roc_curve_of_perfect_separation_goes_through_top_left() {
        let points = roc_curve(&[0.9, 0.8, 0.3, 0.1], &[1.0, 1.0, 0.0, 0.0]).unwrap();
        assert_eq!(points, [(0.0, 0.0), (0.0, 0.5), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0)]);
        assert_eq!(trapezoid(&points), 1.0);
    }

    #[test]
    fn roc_curve_matches_hand_computed_points_with_ties() {
        // Descending: 0.9(+) 0.7(-) 0.7(+) 0.5(-) 0.3(+) 0.1(-); P = N = 3.
        // After 0.9: tp 1 fp 0; the tie at 0.7 moves both: tp 2 fp 1;
        // 0.5: fp 2; 0.3: tp 3; 0.1: fp 3.
        let scores = [0.5, 0.9, 0.1, 0.7, 0.3, 0.7];
        let labels = [0.0, 1.0, 0.0, 0.0, 1.0, 1.0];
        let points = roc_curve(&scores, &labels).unwrap();
        let third = 1.0 / 3.0;
        let expected = [
            (0.0, 0.0),
            (0.0, third),
            (third, 2.0 * third),
            (2.0 * third, 2.0 * third),
            (2.0 * third, 1.0),
            (1.0, 1.0),
        ];
        assert_eq!(points.len(), expected.len());
        for (p, e) in points.iter().zip(expected) {
            assert!((p.0 - e.0).abs() < 1e-12 && (p.1 - e.1).abs() < 1e-12, "{points:?}");
        }
        // Mann–Whitney by hand: 0.9 beats all 3 negatives; 0.7 beats 0.5 and 0.1
        // and ties 0.7 (½); 0.3 beats 0.1. (3 + 2.5 + 1) / 9.
        assert!((trapezoid(&points) - 6.5 / 9.0).abs() < 1e-12);
        assert!((metrics::auc(&scores, &labels).unwrap() - 6.5 / 9.0).abs() < 1e-12);
    }

    #[test]
    fn roc_curve_area_equals_metrics_auc() {
        // Deterministic pseudo-random scores with many ties (rounded to 1 decimal).
        let mut rng = crate::data::SplitMix64::new(7);
        let mut scores = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..500 {
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let y = if (rng.next_u64() >> 11) as f64 / ((1u64 << 53) as f64) < 0.3 + 0.4 * u { 1.0 } else { 0.0 };
            scores.push((u * 10.0).round() / 10.0 - 0.5);
            labels.push(y);
        }
        let points = roc_curve(&scores, &labels).unwrap();
        assert_eq!(points.first(), Some(&(0.0, 0.0)));
        assert_eq!(points.last(), Some(&(1.0, 1.0)));
        assert!(points.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        let auc = metrics::auc(&scores, &labels).unwrap();
        assert!((trapezoid(&points) - auc).abs() < 1e-12, "{} vs {auc}", trapezoid(&points));
    }

    #[test]
    fn roc_curve_rejects_bad_input() {
        assert!(matches!(roc_curve(&[0.2, 0.4], &[1.0, 1.0]), Err(Error::Undefined(_))));
        assert!(matches!(roc_curve(&[0.2, 0.4], &[0.0, 0.0]), Err(Error::Undefined(_))));
        assert!(matches!(roc_curve(&[], &[]), Err(Error::Undefined(_))));
        assert!(matches!(roc_curve(&[0.2, 0.4, 0.1], &[1.0, 0.0]), Err(Error::Shape(_))));
        assert!(matches!(roc_curve(&[0.2, 0.4], &[1.0, 0.5]), Err(Error::BadLabel { row: 1, .. })));
        assert!(matches!(roc_curve(&[0.2, f64::NAN], &[1.0, 0.0]), Err(Error::NonFinite { row: 1, .. })));
        assert!(matches!(roc_curve(&[f64::INFINITY, 0.1], &[1.0, 0.0]), Err(Error::NonFinite { row: 0, .. })));
    }

    #[test]
    fn roc_png_rejects_bad_input() {
        assert!(matches!(roc_png(&[0.2, 0.4], &[1.0, 1.0], "t"), Err(Error::Undefined(_))));
        assert!(matches!(roc_png(&[0.2], &[1.0, 0.0], "t"), Err(Error::Shape(_))));
        assert!(matches!(roc_png(&[f64::NEG_INFINITY, 0.4], &[1.0, 0.0], "t"), Err(Error::NonFinite { .. })));
    }

    #[test]
    fn roc_png_is_an_800_by_600_png() {
        let scores = [0.5, 0.9, 0.1, 0.7, 0.3, 0.7];
        let labels = [0.0, 1.0, 0.0, 0.0, 1.0, 1.0];
        let png = roc_png(&scores, &labels, "job 7 — hold-out").unwrap();
        assert!(png.starts_with(PNG_SIGNATURE));
        let (width, height, pixels) = decode(&png);
        assert_eq!((width, height), (800, 600));
        // The curve is drawn in blue.
        assert!(pixels.chunks(3).any(|p| p == [0, 0, 255]));
    }

    #[test]
    fn roc_png_renders_title_text() {
        let scores = [0.5, 0.9, 0.1, 0.7, 0.3, 0.7];
        let labels = [0.0, 1.0, 0.0, 0.0, 1.0, 1.0];
        let (_, _, a) = decode(&roc_png(&scores, &labels, "job 7 — hold-out").unwrap());
        let (_, _, b) = decode(&roc_png(&scores, &labels, "job 8 — hold-out").unwrap());
        assert_ne!(a, b, "titles differ by one glyph, so must the pixels");
        // Only the caption band (top 60 rows) may differ.
        let band = 800 * 3 * 60;
        assert_eq!(a[band..], b[band..]);
        // The caption band holds dark (text) pixels.
        assert!(a[..band].chunks(3).filter(|p| p.iter().all(|&c| c < 128)).count() > 100);
    }

    #[test]
    fn loss_png_is_an_800_by_600_png_with_both_lines() {
        let png = loss_png(&history(true), "job 7").unwrap();
        assert!(png.starts_with(PNG_SIGNATURE));
        let (width, height, pixels) = decode(&png);
        assert_eq!((width, height), (800, 600));
        assert!(pixels.chunks(3).any(|p| p == [0, 0, 255]), "training line (blue)");
        assert!(pixels.chunks(3).any(|p| p == [255, 0, 0]), "validation line (red)");
    }

    #[test]
    fn loss_png_without_validation_has_no_validation_line() {
        let (_, _, pixels) = decode(&loss_png(&history(false), "job 7").unwrap());
        assert!(pixels.chunks(3).any(|p| p == [0, 0, 255]));
        assert!(!pixels.chunks(3).any(|p| p == [255, 0, 0]));
    }

    #[test]
    fn loss_png_of_one_epoch_renders() {
        let one = [EpochStats { epoch: 0, train_loss: 0.5, validation_loss: Some(0.5) }];
        let (width, height, _) = decode(&loss_png(&one, "").unwrap());
        assert_eq!((width, height), (800, 600));
    }

    #[test]
    fn loss_png_renders_title_text() {
        let (_, _, a) = decode(&loss_png(&history(true), "job 7").unwrap());
        let (_, _, b) = decode(&loss_png(&history(true), "job 8").unwrap());
        assert_ne!(a, b);
    }

    #[test]
    fn loss_png_rejects_bad_input() {
        assert!(matches!(loss_png(&[], "t"), Err(Error::InvalidParams(_))));
        let mut h = history(true);
        h[3].validation_loss = Some(f64::NAN);
        assert!(matches!(loss_png(&h, "t"), Err(Error::NonFinite { row: 3, what: "validation loss", .. })));
        h[1].train_loss = f64::INFINITY;
        assert!(matches!(loss_png(&h, "t"), Err(Error::NonFinite { row: 1, what: "training loss", .. })));
    }
}
