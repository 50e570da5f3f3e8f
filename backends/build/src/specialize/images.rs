//! Map images of a specialized endpoint: `pc_class` gets an entry for every identity outside
//! the unknown class (the generated code knows each class by number and treats a miss as the
//! unknown class); `pc_portfn` and `pc_intervals` are empty (their content is code now). The
//! `.rodata` config, the counters map and any other image stay as the template path built them.

use policyc_backends::layout::{map_names, ClassKey, ClassValue, Direction as DpDirection};
use policyc_backends::{EndpointImages, MapImage};
use policyc_compile::optimize::classes::DirectionClasses;
use policyc_ir::Direction;

fn dp_direction(direction: Direction) -> DpDirection {
    match direction {
        Direction::Ingress => DpDirection::Ingress,
        Direction::Egress => DpDirection::Egress,
    }
}

fn class_image(template: &MapImage, directions: &[&DirectionClasses]) -> MapImage {
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = directions
        .iter()
        .flat_map(|classes| {
            let direction = dp_direction(classes.direction).code();
            classes
                .class_of
                .iter()
                .filter(|(_, class)| **class != DirectionClasses::UNKNOWN)
                .map(move |(identity, class)| {
                    let key = ClassKey {
                        identity: identity.0,
                        direction,
                        pad: [0; 3],
                    };
                    (key.encode(), ClassValue { class_id: class.0 }.encode())
                })
        })
        .collect();
    entries.sort();
    MapImage {
        name: map_names::CLASS.to_owned(),
        key_size: template.key_size,
        value_size: template.value_size,
        max_entries: u32::try_from(entries.len().max(1)).unwrap_or(u32::MAX),
        entries,
    }
}

fn emptied(image: &MapImage) -> MapImage {
    MapImage {
        max_entries: 1,
        entries: Vec::new(),
        ..image.clone()
    }
}

/// The template images that describe the decision a specialized object holds as code (its port
/// functions and their overflow intervals), kept for `policy-loader dump`.
pub fn decision_maps(template: &EndpointImages) -> Vec<MapImage> {
    template
        .maps
        .iter()
        .filter(|m| m.name == map_names::PORTFN || m.name == map_names::INTERVALS)
        .cloned()
        .collect()
}

/// The images of a specialized endpoint, from its template images and its classes.
pub fn specialized_images(
    template: &EndpointImages,
    directions: &[&DirectionClasses],
) -> EndpointImages {
    let maps = template
        .maps
        .iter()
        .map(|image| match image.name.as_str() {
            name if name == map_names::CLASS => class_image(image, directions),
            name if name == map_names::PORTFN || name == map_names::INTERVALS => emptied(image),
            _ => image.clone(),
        })
        .collect();
    EndpointImages {
        config: template.config,
        maps,
    }
}
