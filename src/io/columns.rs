//! Typed access to the columns of a record batch, with errors that name file, column and row.

use std::path::Path;

use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type, UInt32Type, UInt8Type};
use arrow_array::{Array, ArrowPrimitiveType, LargeStringArray, PrimitiveArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Schema};

use super::IoError;

/// One record batch of a file, with the file's path and the row number of its first row.
pub(crate) struct BatchColumns<'a> {
    pub batch: &'a RecordBatch,
    pub path: &'a Path,
    pub first_row: usize,
}

/// A string column, whichever of Arrow's string types it was read as.
pub(crate) enum StrColumn<'a> {
    Small(&'a StringArray),
    Large(&'a LargeStringArray),
}

impl StrColumn<'_> {
    fn is_null(&self, i: usize) -> bool {
        match self {
            StrColumn::Small(a) => a.is_null(i),
            StrColumn::Large(a) => a.is_null(i),
        }
    }

    fn value(&self, i: usize) -> &str {
        match self {
            StrColumn::Small(a) => a.value(i),
            StrColumn::Large(a) => a.value(i),
        }
    }
}

/// A typed column plus what is needed to report its problems.
pub(crate) struct Col<'a, A> {
    pub array: A,
    pub name: &'a str,
    path: &'a Path,
    first_row: usize,
}

impl<'a, T: ArrowPrimitiveType> Col<'a, &'a PrimitiveArray<T>> {
    /// Value at row `i` of the batch; a null is an error.
    pub fn get(&self, i: usize) -> Result<T::Native, IoError> {
        if self.array.is_null(i) {
            return Err(self.null(i));
        }
        Ok(self.array.value(i))
    }
}

impl<'a> Col<'a, StrColumn<'a>> {
    /// String at row `i` of the batch; a null is an error.
    pub fn get(&self, i: usize) -> Result<&'a str, IoError> {
        if self.array.is_null(i) {
            return Err(self.null(i));
        }
        Ok(match &self.array {
            StrColumn::Small(a) => a.value(i),
            StrColumn::Large(a) => a.value(i),
        })
    }

    /// Whether row `i` holds exactly `s` (null never matches).
    pub fn equals(&self, i: usize, s: &str) -> bool {
        !self.array.is_null(i) && self.array.value(i) == s
    }
}

impl<A> Col<'_, A> {
    /// The null-value error for batch row `i`.
    pub fn null(&self, i: usize) -> IoError {
        IoError::NullValue { path: self.path.to_path_buf(), column: self.name.to_string(), row: self.first_row + i }
    }

    /// File row of batch row `i`.
    pub fn row(&self, i: usize) -> usize {
        self.first_row + i
    }
}

impl<'a> BatchColumns<'a> {
    fn array(&self, name: &str) -> Result<&'a dyn Array, IoError> {
        self.batch
            .column_by_name(name)
            .map(|a| a.as_ref())
            .ok_or_else(|| IoError::MissingColumn { path: self.path.to_path_buf(), column: name.to_string() })
    }

    fn mistyped(&self, name: &str, expected: &str, found: &DataType) -> IoError {
        IoError::ColumnType {
            path: self.path.to_path_buf(),
            column: name.to_string(),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }

    fn primitive<T: ArrowPrimitiveType>(
        &self,
        name: &'a str,
        expected: &str,
    ) -> Result<Col<'a, &'a PrimitiveArray<T>>, IoError> {
        let array = self.array(name)?;
        let typed = array
            .as_any()
            .downcast_ref::<PrimitiveArray<T>>()
            .ok_or_else(|| self.mistyped(name, expected, array.data_type()))?;
        Ok(Col { array: typed, name, path: self.path, first_row: self.first_row })
    }

    /// A `uint8` column.
    pub fn u8(&self, name: &'a str) -> Result<Col<'a, &'a PrimitiveArray<UInt8Type>>, IoError> {
        self.primitive::<UInt8Type>(name, "uint8")
    }

    /// A `uint32` column.
    pub fn u32(&self, name: &'a str) -> Result<Col<'a, &'a PrimitiveArray<UInt32Type>>, IoError> {
        self.primitive::<UInt32Type>(name, "uint32")
    }

    /// An `int32` column.
    pub fn i32(&self, name: &'a str) -> Result<Col<'a, &'a PrimitiveArray<Int32Type>>, IoError> {
        self.primitive::<Int32Type>(name, "int32")
    }

    /// An `int64` column.
    pub fn i64(&self, name: &'a str) -> Result<Col<'a, &'a PrimitiveArray<Int64Type>>, IoError> {
        self.primitive::<Int64Type>(name, "int64")
    }

    /// A `float32` column.
    pub fn f32(&self, name: &'a str) -> Result<Col<'a, &'a PrimitiveArray<Float32Type>>, IoError> {
        self.primitive::<Float32Type>(name, "float")
    }

    /// A `float64` column.
    pub fn f64(&self, name: &'a str) -> Result<Col<'a, &'a PrimitiveArray<Float64Type>>, IoError> {
        self.primitive::<Float64Type>(name, "double")
    }

    /// A timestamp column in UTC milliseconds: `int64`. A floating-point column is refused; if it
    /// holds a NaN or infinity the error says so (and where), as that is the usual cause.
    pub fn time_ms(&self, name: &'a str) -> Result<Col<'a, &'a PrimitiveArray<Int64Type>>, IoError> {
        let array = self.array(name)?;
        if let Some(floats) = array.as_any().downcast_ref::<PrimitiveArray<Float64Type>>() {
            if let Some(i) = (0..floats.len()).find(|&i| !floats.is_null(i) && !floats.value(i).is_finite()) {
                return Err(IoError::NonFiniteTimestamp {
                    path: self.path.to_path_buf(),
                    column: name.to_string(),
                    row: self.first_row + i,
                    value: floats.value(i),
                });
            }
        }
        self.i64(name).map_err(|_| self.mistyped(name, "int64 (UTC milliseconds)", array.data_type()))
    }

    /// A string column (`string` or `large_string`).
    pub fn str(&self, name: &'a str) -> Result<Col<'a, StrColumn<'a>>, IoError> {
        let array = self.array(name)?;
        let any = array.as_any();
        let column = if let Some(a) = any.downcast_ref::<StringArray>() {
            StrColumn::Small(a)
        } else if let Some(a) = any.downcast_ref::<LargeStringArray>() {
            StrColumn::Large(a)
        } else {
            return Err(self.mistyped(name, "string", array.data_type()));
        };
        Ok(Col { array: column, name, path: self.path, first_row: self.first_row })
    }

    /// The `prefix0..prefix{n-1}` float32 feature columns, in order.
    pub fn features(&self, names: &'a [String]) -> Result<Vec<Col<'a, &'a PrimitiveArray<Float32Type>>>, IoError> {
        names.iter().map(|n| self.f32(n)).collect()
    }
}

/// The width of a file's `prefix<digits>` feature columns, which must be one of `accepted`
/// (node features: 45, 51 or 53; edge features: 20). Whether they are exactly
/// `prefix0..prefix{width-1}` is checked when they are looked up (a gap is a missing column).
pub(crate) fn feature_width(
    path: &Path,
    schema: &Schema,
    prefix: char,
    accepted: &'static [usize],
) -> Result<usize, IoError> {
    let found = schema
        .fields()
        .iter()
        .filter(|f| {
            let name = f.name();
            name.starts_with(prefix) && name.len() > 1 && name[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .count();
    if !accepted.contains(&found) {
        return Err(IoError::FeatureCount { path: path.to_path_buf(), prefix, accepted, found });
    }
    Ok(found)
}

/// Refuses a file in which two columns share a name: a reader would silently take one of them.
pub(crate) fn check_unique_columns(path: &Path, schema: &Schema) -> Result<(), IoError> {
    let mut seen = std::collections::HashSet::new();
    for field in schema.fields() {
        if !seen.insert(field.name().as_str()) {
            return Err(IoError::DuplicateColumn { path: path.to_path_buf(), column: field.name().clone() });
        }
    }
    Ok(())
}
