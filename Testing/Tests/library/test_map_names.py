"""A map's quantity told from its file name (FSL dtifit, DIPY/MRtrix, BIDS derivatives); never guessed.

Each name is read as tools write them; what a name does not tell (a mask, FSL's L2, two quantities, a word that only
contains a quantity's letters) is refused with why, and the command line says so in one line naming the file.
"""

import json

import pytest
from conftest import REPO, fa_like, make_affine, rotation, run_cli, write_nifti

from FAExportLib import InputError
from FAExportLib.map_names import UNDERSTOOD, bids_entities, is_mask_or_segmentation, markdown_table, quantities_in_name, quantity_from_file_name, read_file_name
from FAExportLib.quantities import known_quantities

TOLD = [
    # FSL dtifit: <basename>_XX
    ("dti_FA.nii.gz", "FA"),
    ("dti_MD.nii.gz", "MD"),
    ("dti_L1.nii.gz", "AD"),
    ("/data/sub01/dtifit/dti_FA.nii", "FA"),
    ("DTI_FA.NII.GZ", "FA"),
    # DIPY dipy_fit_dti, MRtrix tensor2metric: the metric as a whole word
    ("fa.nii.gz", "FA"),
    ("md.nii.gz", "MD"),
    ("ad.nii.gz", "AD"),
    ("rd.nii.gz", "RD"),
    ("adc.nii", "ADC"),
    ("sub-01_fa.nii.gz", "FA"),
    ("tensor-adc.nii.gz", "ADC"),
    ("tensor.rd.nrrd", "RD"),
    ("A-fa-output.nii.gz", "FA"),
    # BIDS derivatives: BEP016 param-, desc-, any case
    ("sub-01_model-tensor_param-fa_dwimap.nii.gz", "FA"),
    ("sub-01_ses-2_space-T1w_model-tensor_param-FA_dwimap.nii.gz", "FA"),
    ("sub-01_model-noddi_param-icvf_dwimap.nii.gz", "NDI"),
    ("sub-01_model-noddi_param-odi_dwimap.nii.gz", "ODI"),
    ("sub-01_desc-FA_dwimap.nii.gz", "FA"),
    ("sub-01_desc-md_dwimap.nii.gz", "MD"),
    ("sub-01_model-relax_param-t1_map.nii.gz", "T1"),
    # BIDS quantitative MRI suffixes
    ("sub-01_T1map.nii.gz", "T1"),
    ("sub-01_T2map.nii.gz", "T2"),
    ("sub-01_T2starmap.nii.gz", "T2*"),
    ("sub-01_R1map.nii.gz", "R1"),
    ("sub-01_R2map.nii.gz", "R2"),
    ("sub-01_R2starmap.nii.gz", "R2*"),
    ("sub-01_acq-MP2RAGE_PDmap.nii.gz", "PD"),
    ("sub-01_MTRmap.nii.gz", "MTR"),
    ("sub-01_MTsat.nii.gz", "MTsat"),
    ("sub-01_Chimap.nii.gz", "QSM"),
    ("sub-01_MWFmap.nii.gz", "MWF"),
    ("sub-01_M0map.nii.gz", "M0"),
    # quantity names and aliases as whole words; T1, T2, PD only as maps
    ("noddi_ICVF.nii.gz", "NDI"),
    ("subject3_R2star.nii.gz", "R2*"),
    ("T1_map.nii.gz", "T1"),
    ("t2-map.nii", "T2"),
    ("FA_in_T1.nii.gz", "FA"),  # a bare T1 is a weighted image's name, so FA is the one quantity named
    ("sub-ad_fa.nii.gz", "FA"),  # the subject's label is no quantity
    ("sub-01_space-T1w_desc-FA_dwimap.nii.gz", "FA"),
]


@pytest.mark.parametrize(("name", "quantity"), TOLD)
def test_a_name_tells_its_quantity(name, quantity):
    assert read_file_name(name).quantity == quantity
    assert quantity_from_file_name(name) == quantity
    assert quantity in known_quantities()


NOT_TOLD = [
    # FSL outputs that are no exported quantity
    ("dti_L2.nii.gz", "FSL's L2 is the second eigenvalue, not a quantity by itself (RD is the mean of L2 and L3)"),
    ("dti_L3.nii.gz", "FSL's L3 is the third eigenvalue, not a quantity by itself (RD is the mean of L2 and L3)"),
    ("dti_V1.nii.gz", "FSL's V1 is the first eigenvector (three values per voxel), not a map of one quantity"),
    ("dti_MO.nii.gz", "FSL's MO is the tensor's mode, not a quantity FAExport knows"),
    ("dti_S0.nii.gz", "FSL's S0 is the signal without diffusion weighting, not a quantity FAExport knows"),
    # BIDS suffixes and entities that name no quantity FAExport exports
    ("sub-01_UNIT1.nii.gz", "UNIT1 is MP2RAGE's uniform T1-weighted image, not a map of a quantity"),
    ("sub-01_T1w.nii.gz", "T1w is a weighted image, not a map of a quantity"),
    ("sub-01_model-tensor_param-cl_dwimap.nii.gz", "param-cl is not a quantity FAExport knows"),
    ("sub-01_desc-T1_dwimap.nii.gz", "desc-T1 names a T1-weighted image as often as a T1 map"),
    # masks and segmentations
    ("sub-01_desc-brain_mask.nii.gz", "it is a mask or a segmentation, not a map"),
    ("nodif_brain_mask.nii.gz", "it is a mask or a segmentation, not a map"),
    ("FA_mask.nii.gz", "it is a mask or a segmentation, not a map"),
    ("sub-01_dseg.nii.gz", "it is a mask or a segmentation, not a map"),
    ("sub-01_label-WM_probseg.nii.gz", "it is a mask or a segmentation, not a map"),
    # several quantities
    ("FA_MD.nii.gz", "its name names 2 quantities (FA, MD) and FAExport does not guess which the file holds"),
    ("sub-01_param-fa_desc-md_dwimap.nii.gz", "its name names 2 quantities (FA, MD) and FAExport does not guess which the file holds"),
    ("sub-01_desc-FA_T1map.nii.gz", "its name names 2 quantities (FA, T1) and FAExport does not guess which the file holds"),
    # a bare T1, T2, PD: as often a weighted image
    ("T1.nii.gz", "T1 alone names a T1-weighted image as often as a T1 map"),
    ("subject_PD.nii", "PD alone names a PD-weighted image as often as a PD map"),
    # no whole word is a quantity: never substrings
    ("fast.nii", "no part of its name names a quantity"),
    ("brain.nii.gz", "no part of its name names a quantity"),
    ("sub-01_dwi.nii.gz", "no part of its name names a quantity"),
    ("tensor_metric.nii.gz", "no part of its name names a quantity"),
    ("dti_FA2.nii.gz", "no part of its name names a quantity"),
    ("fractional.nii.gz", "no part of its name names a quantity"),
    ("sub-md_ses-fa_dwi.nii.gz", "no part of its name names a quantity"),  # entity values other than param and desc are labels
]


@pytest.mark.parametrize(("name", "reason"), NOT_TOLD)
def test_a_name_that_tells_no_quantity_says_why(name, reason):
    reading = read_file_name(name)
    assert (reading.quantity, reading.reason) == (None, reason)
    with pytest.raises(InputError) as raised:
        quantity_from_file_name(name)
    assert reason in str(raised.value)


def test_the_refusal_is_one_line_naming_the_file_why_the_names_understood_and_the_way_out():
    with pytest.raises(InputError) as raised:
        quantity_from_file_name("/data/run3/tensor_metric.nii.gz")
    assert str(raised.value) == (
        "cannot tell the quantity of tensor_metric.nii.gz from its name: no part of its name names a quantity (names understood: "
        "FSL dtifit: dti_FA, dti_MD, dti_L1; DIPY, MRtrix: fa, md, ad, ...; BIDS derivatives: param-fa, param-icvf, desc-MD; "
        "BIDS qMRI: _T1map, _T2map, _T2starmap, ...; a quantity's name or alias: noddi_ICVF); "
        "rename the file as one of these conventions names it, or give --quantity NAME (it applies to every map)"
    )
    assert raised.value.field == "quantity"
    assert raised.value.value == "/data/run3/tensor_metric.nii.gz"
    assert raised.value.render(lambda field: f'"{field.name}"').endswith('or give "quantity" (it applies to every map)')


def test_only_a_name_understood_as_nothing_leaves_room_for_a_default():
    assert read_file_name("tensor_metric.nii.gz").tells_nothing
    assert not read_file_name("dti_L2.nii.gz").tells_nothing
    assert not read_file_name("FA_MD.nii.gz").tells_nothing
    assert not read_file_name("sub-01_desc-brain_mask.nii.gz").tells_nothing
    assert not read_file_name("dti_FA.nii.gz").tells_nothing


@pytest.mark.parametrize(
    ("name", "named"),
    [("tensor_metric.nii.gz", ()), ("dti_FA.nii.gz", ("FA",)), ("FA_MD.nii.gz", ("FA", "MD")), ("FA_mask.nii.gz", ("FA",)), ("dti_L2.nii.gz", ())],
)
def test_the_quantities_a_name_names(name, named):
    assert quantities_in_name(name) == named


@pytest.mark.parametrize(
    ("name", "entities"),
    [
        ("sub-01_ses-2_model-tensor_param-fa_dwimap.nii.gz", {"sub": "01", "ses": "2", "model": "tensor", "param": "fa", "suffix": "dwimap"}),
        ("/x/sub-01_space-MNI152NLin2009cAsym_desc-brain_mask.nii", {"sub": "01", "space": "MNI152NLin2009cAsym", "desc": "brain", "suffix": "mask"}),
        ("sub-01_T1map.nrrd", {"sub": "01", "suffix": "T1map"}),
        ("dti_FA.nii.gz", {}),
        ("A-fa-output.nii.gz", {}),
        ("FA.nii.gz", {}),
    ],
)
def test_bids_entities_of_a_name(name, entities):
    assert bids_entities(name) == entities


@pytest.mark.parametrize(("name", "mask"), [("sub-01_desc-brain_mask.nii.gz", True), ("brain-mask.nrrd", True), ("sub-01_dseg.nii", True), ("FA_masked.nii.gz", False), ("dti_FA.nii.gz", False)])
def test_masks_and_segmentations_are_told_apart(name, mask):
    assert is_mask_or_segmentation(name) is mask


def test_every_example_of_the_table_tells_its_quantity_and_the_table_lists_them():
    for _convention, example, quantity in UNDERSTOOD:
        assert read_file_name(example).quantity == quantity, example
    table = markdown_table().splitlines()
    assert table[:2] == ["| Convention | Example | Quantity |", "|---|---|---|"]
    assert "| FSL dtifit | `dti_L1.nii.gz` | AD |" in table
    assert "| BIDS qMRI | `sub-01_Chimap.nii.gz` | QSM |" in table
    assert len(table) == 2 + len(UNDERSTOOD)


def test_the_names_table_of_the_cohorts_page_is_the_generated_one():
    """Docs/cohorts.md shows the conventions understood; a rule added to map_names must reach the page."""
    text = (REPO / "Docs" / "cohorts.md").read_text(encoding="utf-8")
    begin, end = "<!-- names table: generated by FAExportLib.map_names.markdown_table() -->", "<!-- end of names table -->"
    assert begin in text and end in text
    assert text.split(begin, 1)[1].split(end, 1)[0].strip() == markdown_table()


def test_two_files_named_by_fsl_export_as_their_quantities_and_an_unnamed_third_is_refused_by_the_command_line(tmp_path):
    affine = make_affine(rotation(0, 0, 5), (2.0, 2.0, 2.0), (0.0, 0.0, 0.0))
    fa = fa_like((5, 4, 3))
    paths = [write_nifti(tmp_path / name, values, affine) for name, values in (("dti_FA.nii.gz", fa), ("dti_L1.nii.gz", 0.001 + 0.001 * fa))]
    told = run_cli("export", *map(str, paths), str(tmp_path / "out"), "--json", "--allow-coarse-scale")
    assert told.returncode == 0, told.stderr
    assert [(item["input"].rsplit("/", 1)[-1], item["quantity"]) for item in json.loads(told.stdout)["inputs"]] == [("dti_FA.nii.gz", "FA"), ("dti_L1.nii.gz", "AD")]

    eigenvalue = write_nifti(tmp_path / "dti_L2.nii.gz", 0.0005 + 0.0005 * fa, affine)
    refused = run_cli("export", str(paths[0]), str(eigenvalue), str(tmp_path / "refused"))
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert "cannot tell the quantity of dti_L2.nii.gz from its name: FSL's L2 is the second eigenvalue" in refused.stderr
    assert "--quantity NAME" in refused.stderr
