//! Summaries of repeated measurements: median, p99, mean, min.

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Summary {
    pub median: f64,
    pub p99: f64,
    pub mean: f64,
    pub min: f64,
    pub samples: usize,
}

/// The `q` quantile (0..=1) of sorted values, nearest rank.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn summarize(values: &[f64]) -> Summary {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let mean = if sorted.is_empty() {
        f64::NAN
    } else {
        sorted.iter().sum::<f64>() / sorted.len() as f64
    };
    Summary {
        median: quantile(&sorted, 0.5),
        p99: quantile(&sorted, 0.99),
        mean,
        min: sorted.first().copied().unwrap_or(f64::NAN),
        samples: sorted.len(),
    }
}
