//! Uploaded images: size limit before decoding, sniffing by content (the declared type and the
//! file name are never trusted), a pixel limit against decompression bombs, and the thumbnail.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader};

use super::LibraryError;

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 256;

/// Limits on uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Largest upload in bytes, refused before decoding (default 25 MiB).
    pub max_bytes: u64,
    /// Most pixels an image may decode to (default 40 megapixels).
    pub max_pixels: u64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            max_bytes: 25 * 1024 * 1024,
            max_pixels: 40_000_000,
        }
    }
}

/// An uploaded file: its bytes and the name it came with (used only in messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The file name as the user gave it.
    pub file_name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// An upload that passed every check, with its thumbnail.
#[derive(Debug, Clone)]
pub(crate) struct CheckedImage {
    /// Media type found by sniffing the bytes.
    pub mime: &'static str,
    /// The original bytes, stored as they came.
    pub bytes: Vec<u8>,
    /// PNG, longest side at most [`THUMBNAIL_SIDE`], aspect kept.
    pub thumbnail: Vec<u8>,
}

/// Checks an upload and makes its thumbnail. CPU-bound: call it off the async threads.
pub(crate) fn check_image(
    upload: Upload,
    limits: UploadLimits,
) -> Result<CheckedImage, LibraryError> {
    let Upload { file_name, bytes } = upload;
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(LibraryError::TooLarge {
            file: file_name,
            size,
            limit: limits.max_bytes,
        });
    }
    let not_an_image = || LibraryError::NotAnImage {
        file: file_name.clone(),
    };
    let format = sniff(&bytes).ok_or_else(not_an_image)?;
    let (width, height) = ImageReader::with_format(Cursor::new(&bytes), format)
        .into_dimensions()
        .map_err(|_| not_an_image())?;
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(LibraryError::TooManyPixels {
            file: file_name,
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), format);
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(width);
    decode_limits.max_image_height = Some(height);
    reader.limits(decode_limits);
    let decoded = reader.decode().map_err(|_| not_an_image())?;
    let thumbnail = thumbnail_png(&decoded)?;
    Ok(CheckedImage {
        mime: format.to_mime_type(),
        bytes,
        thumbnail,
    })
}

/// The format of the bytes when it is one the library accepts.
fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    let format = image::guess_format(bytes).ok()?;
    matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP
    )
    .then_some(format)
}

/// Width and height from an image's header, without decoding it.
pub(crate) fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    ImageReader::with_format(Cursor::new(bytes), sniff(bytes)?)
        .into_dimensions()
        .ok()
}

/// The thumbnail as PNG: scaled down to fit [`THUMBNAIL_SIDE`], never up.
fn thumbnail_png(image: &DynamicImage) -> Result<Vec<u8>, LibraryError> {
    let small = if image.width().max(image.height()) > THUMBNAIL_SIDE {
        image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    } else {
        image.clone()
    };
    let small = if small.color().has_alpha() {
        DynamicImage::ImageRgba8(small.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(small.to_rgb8())
    };
    let mut png = Cursor::new(Vec::new());
    small
        .write_to(&mut png, ImageFormat::Png)
        .map_err(|err| LibraryError::Processing(format!("cannot encode the thumbnail: {err}")))?;
    Ok(png.into_inner())
}

/// A PNG gradient of this size, for tests.
#[cfg(test)]
pub(crate) fn test_png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Png).unwrap();
    bytes.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        test_png(width, height)
    }

    fn upload(name: &str, bytes: Vec<u8>) -> Upload {
        Upload {
            file_name: name.into(),
            bytes,
        }
    }

    /// A PNG whose header claims `width`×`height` but carries no pixels.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut header = width.to_be_bytes().to_vec();
        header.extend(height.to_be_bytes());
        header.extend([8, 2, 0, 0, 0]);
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [(b"IHDR", header), (b"IDAT", vec![]), (b"IEND", vec![])] {
            let mut chunk = kind.to_vec();
            chunk.extend(&data);
            bytes.extend((data.len() as u32).to_be_bytes());
            bytes.extend(&chunk);
            bytes.extend(crc32(&chunk).to_be_bytes());
        }
        bytes
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in data {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn thumbnails_fit_256_and_keep_the_aspect() {
        let checked =
            check_image(upload("wide.png", png(1024, 512)), UploadLimits::default()).unwrap();
        assert_eq!(checked.mime, "image/png");
        assert_eq!(dimensions(&checked.thumbnail), Some((256, 128)));
        let small = check_image(upload("small.png", png(40, 30)), UploadLimits::default()).unwrap();
        assert_eq!(
            dimensions(&small.thumbnail),
            Some((40, 30)),
            "never scaled up"
        );
    }

    #[test]
    fn sniffs_content_not_names() {
        let jpeg = {
            let mut bytes = Cursor::new(Vec::new());
            DynamicImage::ImageRgb8(image::RgbImage::new(300, 20))
                .write_to(&mut bytes, ImageFormat::Jpeg)
                .unwrap();
            bytes.into_inner()
        };
        let checked = check_image(upload("photo.png", jpeg), UploadLimits::default()).unwrap();
        assert_eq!(checked.mime, "image/jpeg");
        for (name, bytes) in [
            ("notes.png", b"just some notes, honestly".to_vec()),
            ("cut.png", png(64, 64)[..60].to_vec()),
            ("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec()),
            ("empty.jpg", Vec::new()),
        ] {
            let err = check_image(upload(name, bytes), UploadLimits::default()).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("“{name}” is not an image (PNG, JPEG or WebP)")
            );
        }
    }

    #[test]
    fn refuses_oversized_uploads_and_pixel_bombs() {
        let limits = UploadLimits {
            max_bytes: 100,
            ..UploadLimits::default()
        };
        let err = check_image(upload("big.png", vec![0; 2000]), limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "“big.png” is 2.0 KiB but uploads are limited to 100 bytes"
        );
        let err = check_image(
            upload("bomb.png", png_header(50_000, 50_000)),
            UploadLimits::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "“bomb.png” is 50000×50000 pixels (2500.0 megapixels) but images are limited to 40.0 megapixels"
        );
    }
}
