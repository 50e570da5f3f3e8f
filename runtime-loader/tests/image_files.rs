//! The artifact path: endpoint images and the ipcache written as image files, read back and
//! loaded, decide exactly like images built in memory.

use crate::common;

use common::*;
use policyc_backends::layout::Direction;
use policyc_backends::{endpoint_images, ipcache_image, EndpointImages, ImageFile};
use policyc_kernel::packet::Packet;
use policyc_kernel::{AttachKind, TestHarness};

#[test]
fn images_read_back_from_files_enforce_the_same_policy() {
    if !kernel_tests_enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let endpoint_path = dir.path().join("endpoint-77.maps");
    let ipcache_path = dir.path().join("ipcache.maps");

    let images = endpoint_images(&tables()).unwrap_or_else(|e| panic!("{e}"));
    let ipcache_map = ipcache_image(&ipcache()).unwrap_or_else(|e| panic!("{e}"));
    ImageFile::from(images.clone())
        .write(&endpoint_path)
        .unwrap_or_else(|e| panic!("{e}"));
    let ipcache_file = ImageFile {
        config: None,
        maps: vec![ipcache_map.clone()],
    };
    ipcache_file
        .write(&ipcache_path)
        .unwrap_or_else(|e| panic!("{e}"));

    let read = ImageFile::read(&endpoint_path).unwrap_or_else(|e| panic!("{e}"));
    let read_images = EndpointImages::from_file(&read).unwrap_or_else(|| panic!("no config"));
    assert_eq!(read_images, images);
    let read_ipcache = ImageFile::read(&ipcache_path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_ipcache.maps, vec![ipcache_map]);

    let from_files =
        TestHarness::from_images(&read_images, &read_ipcache.maps[0], &AttachKind::ALL)
            .unwrap_or_else(|e| panic!("{e}"));
    let in_memory = harness(&tables(), &ipcache());
    for port in [79, 80, 81, 7999, 8000, 8008, 8080, 8081, 8443] {
        let frame = Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40000, port).frame();
        for kind in AttachKind::ALL {
            let a = from_files
                .run(Direction::Ingress, kind, &frame)
                .unwrap_or_else(|e| panic!("{e}"));
            let b = in_memory
                .run(Direction::Ingress, kind, &frame)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                (a.passed, a.verdict()),
                (b.passed, b.verdict()),
                "port {port} {kind:?}"
            );
        }
    }
}

#[test]
fn image_files_are_deterministic() {
    let a = ImageFile::from(endpoint_images(&tables()).unwrap_or_else(|e| panic!("{e}")));
    let b = ImageFile::from(endpoint_images(&tables()).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(a.to_bytes().ok(), b.to_bytes().ok());
}

#[test]
fn an_unreadable_image_file_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("garbage.bin");
    std::fs::write(&path, b"not a map image").unwrap_or_else(|e| panic!("{e}"));
    let error = ImageFile::read(&path)
        .map(|_| ())
        .map_err(|e| e.to_string());
    match error {
        Err(e) => assert!(e.contains(&path.display().to_string()), "{e}"),
        Ok(()) => panic!("garbage read as a map image"),
    }
}
