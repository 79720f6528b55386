// hipsense belt clip: a slide-in case with a closed belt loop on its back.
//
// Parametric in the envelope of the electronics (board_mm = [length, width, height]),
// which `make hardware` passes from hardware/boards/<name>.json ("enclosure.board_mm").
// Case frame: x along the case length (the open end, where the USB port is, at x = 0),
// y across, z out of the wearer's back (the belt loop is at z < 0, against the body).
//
//   openscad -o clip.stl belt_clip.scad -D 'board="m5stickc-plus2"' -D 'board_mm=[48,24,13.5]'
//
// part = "case"     the printable clip (default)
// part = "fitcheck" the intersection of the case with the board envelope placed in its
//                   seat; it must be empty (OpenSCAD then reports an empty top-level object).

board = "generic";          // build name, echoed only
board_mm = [48, 24, 13.5];  // electronics envelope [length, width, height], mm
part = "case";

clearance_mm = 0.4;   // gap per side between the envelope and the cavity
wall_mm = 2.0;        // side and end walls
floor_mm = 2.0;       // floor between the board and the belt tunnel
lip_mm = 1.5;         // retaining lips overhang the board's top edges by this much
lip_t_mm = 1.2;       // lip thickness
lip_start_mm = 8;     // lips start this far from the open end
ridge_mm = 0.8;       // snap ridge height at the open end (board clicks over it)
ridge_len_mm = 2.0;   // snap ridge length along x
belt_w_mm = 40;       // belt width the loop accepts (inner tunnel span), mm
belt_t_mm = 5;        // belt thickness the loop accepts (inner tunnel height), mm
strap_mm = 2.5;       // thickness of the strap that closes the loop and of its posts
arrow_depth_mm = 0.6; // depth of the orientation arrow engraved beside the case
window_frac = 0.5;    // side windows (button access) span this fraction of the cavity length

cavity_mm = [board_mm[0] + 2 * clearance_mm,
             board_mm[1] + 2 * clearance_mm,
             board_mm[2] + clearance_mm];
outer_x = ridge_len_mm + cavity_mm[0] + wall_mm;
case_y = cavity_mm[1] + 2 * wall_mm;
loop_y = max(case_y, belt_w_mm + 2 * strap_mm);
outer_z = floor_mm + cavity_mm[2] + lip_t_mm;

echo("HIPSENSE_BOARD", board);
echo("HIPSENSE_CAVITY_MM", cavity_mm);
echo("HIPSENSE_OUTER_MM", [outer_x, loop_y, outer_z + belt_t_mm + strap_mm]);

// Where the board envelope sits: on the floor, behind the snap ridge, centred in y.
seat = [ridge_len_mm + clearance_mm, -board_mm[1] / 2, floor_mm];

module shell() {
    y0 = -case_y / 2;
    difference() {
        translate([0, y0, 0]) cube([outer_x, case_y, outer_z]);
        // cavity, open at x = 0 (slide-in end, USB access) and at the top
        translate([-1, -cavity_mm[1] / 2, floor_mm])
            cube([ridge_len_mm + cavity_mm[0] + 1, cavity_mm[1], cavity_mm[2] + lip_t_mm + 1]);
        // centred windows in both long walls: side buttons stay reachable
        if (window_frac > 0)
            translate([ridge_len_mm + cavity_mm[0] * (1 - window_frac) / 2, y0 - 1, floor_mm + 2])
                cube([cavity_mm[0] * window_frac, case_y + 2, max(cavity_mm[2] - 3, 0.1)]);
    }
    // lips along both long edges, above the cavity; they stop short of the open end so the
    // board's USB end can be pressed down over the snap ridge
    for (s = [-1, 1])
        translate([lip_start_mm, s > 0 ? cavity_mm[1] / 2 - lip_mm : -cavity_mm[1] / 2,
                   floor_mm + cavity_mm[2]])
            cube([outer_x - lip_start_mm, lip_mm, lip_t_mm]);
    // snap ridge at the open end
    translate([0, -cavity_mm[1] / 2, floor_mm]) cube([ridge_len_mm, cavity_mm[1], ridge_mm]);
}

module belt_loop() {
    // flange under the floor, two posts and the closing strap: the belt passes along x
    for (s = [-1, 1])
        translate([0, s > 0 ? loop_y / 2 - strap_mm : -loop_y / 2, -belt_t_mm])
            cube([outer_x, strap_mm, belt_t_mm + 0.01]);
    translate([0, -loop_y / 2, -belt_t_mm - strap_mm]) cube([outer_x, loop_y, strap_mm]);
    // the floor itself is widened to the loop's span so the posts have something to hold
    translate([0, -loop_y / 2, 0]) cube([outer_x, loop_y, floor_mm]);
}

// An arrow engraved in the ledge beside the case points to the open (USB) end: wear the clip
// with the arrow towards the wearer's right, the same way every time (docs/mounting.md).
module arrow_mark() {
    ledge = (loop_y - case_y) / 2;
    if (ledge >= 5)
        translate([3, case_y / 2 + ledge / 2, floor_mm - arrow_depth_mm])
            linear_extrude(arrow_depth_mm + 0.1)
                polygon([[0, 0], [5, 2.5], [5, 0.9], [16, 0.9], [16, -0.9], [5, -0.9], [5, -2.5]]);
}

module clip() { difference() { union() { shell(); belt_loop(); } arrow_mark(); } }

// The envelope shrunk by 0.01 mm per side, so that faces which merely touch (the board
// resting on the floor) do not count as an overlap.
module envelope() { translate(seat + [0.01, 0.01, 0.01]) cube(board_mm - [0.02, 0.02, 0.02]); }

if (part == "case") clip();
else if (part == "fitcheck") intersection() { clip(); envelope(); }
else echo("HIPSENSE_ERROR", str("unknown part: ", part));
