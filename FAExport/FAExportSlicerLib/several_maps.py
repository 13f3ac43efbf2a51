"""Several volume nodes exported as series of one study: each map's name and quantity, the one subject-hierarchy study
they may join, and FAExportLib's MapInput of each.

Every volume node of a scene lives in one world, the scene's RAS space (a parent transform is applied to the geometry,
scene.worldIJKToRAS), so maps on different grids share one frame of reference; FAExportLib accepts different grids
only when each map states its space (MapInput.space), which is therefore the scene's for every node. Any MRML scene
(the application's, a private one, PyPI slicer-core's): no Qt.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from FAExportSlicerLib import scene

if TYPE_CHECKING:
    from FAExportSlicerLib.options import FAExportOptions

    from FAExportLib import MapInput, Quantity

# What MapInput.space says for every node: the scene's RAS world (FAExportLib compares the text only).
SLICER_SCENE_SPACE = "Slicer scene (RAS)"

# Where one of several maps' quantity came from (the panel says it next to the quantity).
FROM_ATTRIBUTE, FROM_NAME, FROM_OPTION = "attribute", "name", "option"


@dataclass(frozen=True)
class MapQuantity:
    """The quantity one of several maps is exported as, and where it came from (FROM_ATTRIBUTE, FROM_NAME, FROM_OPTION)."""

    quantity: "str | Quantity"
    origin: str

    @property
    def name(self) -> str:
        return self.quantity if isinstance(self.quantity, str) else self.quantity.name


def checkedVolumes(volumeNodes) -> list:
    """The volume nodes as a list, refused (InputError) when empty, holding a None, or holding a node twice."""
    from FAExportLib import InputError

    if volumeNodes is None or hasattr(volumeNodes, "GetID"):
        raise InputError("exportVolumes takes a list of volume nodes", remedy="give [node, ...], or export one volume with exportVolume")
    nodes = list(volumeNodes)
    if not nodes:
        raise InputError("no volume was given; give the scalar maps to export")
    if any(node is None for node in nodes):
        raise InputError(f"volume {[node is None for node in nodes].index(True) + 1} of {len(nodes)} is None; give volume nodes (e.g. getNode('MD'))")
    seen = set()
    for node in nodes:
        if node.GetID() in seen:
            raise InputError(f'volume "{node.GetName()}" is given twice; give each volume once')
        seen.add(node.GetID())
    return nodes


def mapNames(volumeNodes: list) -> list[str]:
    """Each map's name (it starts its warnings and is its series' ``input``): the node's name, with its ID when another
    node has the same name (FAExportLib tells the maps apart by name, e.g. to re-encode a refused Parametric Map).
    """
    names = [node.GetName() or node.GetID() for node in volumeNodes]
    return [f"{name} ({node.GetID()})" if names.count(name) > 1 else name for name, node in zip(names, volumeNodes, strict=True)]


def quantityFromName(volumeNode) -> "tuple[str | None, str]":
    """(the quantity the node's name tells by FAExportLib's file-name rules, e.g. FA, dti_MD, T1map; why none).

    A node's name may hold spaces ("FA map"), which the file-name rules do not split on: they are read as "_".
    """
    from FAExportLib.map_names import read_file_name

    reading = read_file_name("_".join((volumeNode.GetName() or "").split()))
    return reading.quantity, reading.reason or ""


def mapQuantity(volumeNode, given) -> MapQuantity:
    """The quantity of one of several maps: the node's VoxelValueQuantity, else the one its name tells, else ``given``
    (the export's quantity, for the maps that state none). InputError naming the volume when none of them says.
    """
    from FAExportLib import Field, InputError

    own = scene.quantityOf(volumeNode)
    if own is not None:
        return MapQuantity(own, FROM_ATTRIBUTE)
    fromName, why = quantityFromName(volumeNode)
    if fromName is not None:
        return MapQuantity(fromName, FROM_NAME)
    if given is not None:
        return MapQuantity(given, FROM_OPTION)
    raise InputError(
        f'the quantity of volume "{volumeNode.GetName()}" is not known: it has no VoxelValueQuantity, and {why}',
        remedy=("rename it after its quantity (e.g. FA, dti_MD, T1map), or set ", Field("quantity"), " for the maps that state none"),
        field="quantity",
    )


def studyText(study) -> str:
    shNode, studyItem, studyUID = study
    return f'study "{shNode.GetItemName(studyItem)}" ({studyUID})'


def studyVolume(volumeNodes: list):
    """The node whose subject-hierarchy study the export joins: the first that sits under a DICOM study (the others
    sit under the same one or under none). InputError naming each node's study when they sit under different studies.
    """
    from FAExportLib import InputError

    inStudies = [(node, study) for node in volumeNodes if (study := scene.subjectHierarchyStudy(node)) is not None]
    uids = list(dict.fromkeys(study[2] for _, study in inStudies))
    if len(uids) > 1:
        listing = ", ".join(f'"{node.GetName()}" under {studyText(study)}' for node, study in inStudies)
        raise InputError(
            f"the volumes sit under {len(uids)} different studies in the subject hierarchy ({listing}), and one export writes one study",
            remedy="move them under one study (Data module), or export each study's volumes separately",
        )
    return inStudies[0][0] if inStudies else volumeNodes[0]


def mapInputs(volumeNodes: list, options: "FAExportOptions") -> "list[MapInput]":
    """FAExportLib's map of each node: voxels, world geometry, name, the scene's space and, with several maps, each
    map's quantity (mapQuantity; one map's is the export's, see export.libraryExportOptions).
    """
    from FAExportLib import MapInput

    several = len(volumeNodes) > 1
    return [
        MapInput(
            scene.voxelArray(node),
            scene.worldIJKToRAS(node),
            name=name,
            quantity=mapQuantity(node, options.quantity).quantity if several else None,
            space=SLICER_SCENE_SPACE,
        )
        for node, name in zip(volumeNodes, mapNames(volumeNodes), strict=True)
    ]
