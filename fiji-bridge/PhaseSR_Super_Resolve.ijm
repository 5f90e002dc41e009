// PhaseSR Super Resolve (Plugins > PhaseSR > PhaseSR Super Resolve): super-resolves the active image through
// a running phasesr server and opens the result as a new image "<title>-SRx<scale>", leaving the original as
// it was. Plain ImageJ 1.x macro language (no scripting engines, no curl), so it runs in Fiji and ImageJ.
//
// Transport: each plane is saved as a TIFF into the exchange folder (default: the server's own private one,
// which GET /api/v1/folders?format=text names on its first line; the server does not open files from the
// shared OS temp folder). File.openUrlAsString submits it (`wait=0`: the server answers at once with a status URL)
// and then polls the status URL, showing the progress, until it answers the result's URL, which open() reads
// (it ends in .tif). Every request is a GET that is safe to repeat, because File.openUrlAsString opens each
// URL twice (first for the length, then for the body): the server joins an identical request to the job
// already computing. format=text: ImageJ returns no body for an HTTP error status, so the server answers
// errors as one `error: CODE: message` line with status 200, and warnings as `warning: ...` lines.
//
// Options, recordable: run("PhaseSR Super Resolve", "scale=8 server=http://127.0.0.1:8080 model=lite");
// the same option string also works as the argument of runMacro(path, options) or `ImageJ -batch path options`.
// Keys: scale (2|4|8), server (URL), model (empty: the server's model), folder (empty: the server's exchange
// folder; another one must be allowed by the server, phasesr serve --allow-dir DIR).

requires("1.53d");

// Globals the functions below read (macro functions see only `var` variables).
var noGui = false;
var wasBatch = false;
var original = 0;
var START_HINT = "Start it once, in the phasesr folder:\n  npx phasesr serve";

PREFIX = "phasesr.";
DEFAULT_SERVER = "http://127.0.0.1:8080";

// How options arrive: run("PhaseSR Super Resolve", opts) sets Macro.getOptions() (and Dialog.* reads it);
// runMacro(path, opts) and -batch pass them as the argument. Without either, the dialog is shown.
argument = getArgument();
// call() answers Java's null as a value that equals no string until it is concatenated.
macroOptions = "" + call("ij.Macro.getOptions");
if (macroOptions == "null") macroOptions = "";
interactive = (argument == "" && macroOptions == "");
// No ImageJ window (`ImageJ -batch`, a headless run): messages go to the log (stdout), never to a dialog
// that nobody can close.
instance = "" + call("ij.IJ.getInstance");
noGui = (instance == "null");

if (nImages == 0) fail("No image is open: open the image to super-resolve first.");
bits = bitDepth();
// RGB goes to the server as it is: it converts to grey as `phasesr sr` does, and its warning is printed.

server = call("ij.Prefs.get", PREFIX + "server", DEFAULT_SERVER);
scale = call("ij.Prefs.get", PREFIX + "scale", "8");
model = call("ij.Prefs.get", PREFIX + "model", "");
folder = "";

if (argument != "") {
  server = optionValue(argument, "server", server);
  scale = optionValue(argument, "scale", scale);
  model = optionValue(argument, "model", model);
  folder = optionValue(argument, "folder", folder);
} else {
  if (interactive) folder = call("ij.Prefs.get", PREFIX + "folder", folder);
  // Remembered by an older version, whose default was the OS temp folder: the server no longer opens it.
  if (folder == getDirectory("temp")) folder = "";
  Dialog.create("PhaseSR Super Resolve");
  Dialog.addString("Server", server, 32);
  Dialog.addChoice("Scale", newArray("2", "4", "8"), scale);
  Dialog.addString("Model", model, 16);
  Dialog.addMessage("Model: empty = the model the server runs (phasesr serve --model ...)");
  Dialog.addDirectory("Folder", folder);
  Dialog.addMessage("Folder: where the image is handed to the server; empty = the server's own\nexchange folder. Another folder must be allowed by the server (--allow-dir).");
  Dialog.show();
  server = Dialog.getString();
  scale = Dialog.getChoice();
  model = Dialog.getString();
  folder = Dialog.getString();
  if (interactive) {
    call("ij.Prefs.set", PREFIX + "server", server);
    call("ij.Prefs.set", PREFIX + "scale", scale);
    call("ij.Prefs.set", PREFIX + "model", model);
    call("ij.Prefs.set", PREFIX + "folder", folder);
  }
}

server = String.trim(server);
while (endsWith(server, "/")) server = substring(server, 0, lengthOf(server) - 1);
if (!startsWith(server, "http://") && !startsWith(server, "https://")) fail("The server URL must start with http:// (got \"" + server + "\").");
if (scale != "2" && scale != "4" && scale != "8") fail("Scale must be 2, 4 or 8 (got \"" + scale + "\").");
model = String.trim(model);
folder = String.trim(folder);
s = parseInt(scale);

// The original: only read (duplicated plane by plane), never saved or renamed.
original = getImageID();
title = getTitle();
if (folder == "") folder = exchangeFolder(server, title);
if (!endsWith(folder, File.separator) && !endsWith(folder, "/")) folder = folder + File.separator;
if (!File.isDirectory(folder)) fail("The exchange folder " + folder + " does not exist.");
base = title;
dot = lastIndexOf(base, ".");
if (dot > 0 && lengthOf(base) - dot <= 5) base = substring(base, 0, dot);
getDimensions(width, height, channels, slices, frames);
getVoxelSize(pw, ph, pd, unit);
planes = nSlices;
hyper = Stack.isHyperstack;
currentSlice = getSliceNumber();

wasBatch = is("Batch Mode");
if (!wasBatch) setBatchMode(true);
stamp = "phasesr-" + d2s(getTime(), 0) + "-";
results = newArray(planes);
for (i = 1; i <= planes; i++) {
  selectImage(original);
  showStatus("PhaseSR: super-resolving " + i + "/" + planes + " (" + scale + "x)");
  showProgress(i - 1, planes);
  if (planes == 1) {
    run("Duplicate...", "title=phasesr-in");
  } else if (hyper) {
    setSlice(i);
    Stack.getPosition(c, z, t);
    run("Duplicate...", "title=phasesr-in duplicate channels=" + c + " slices=" + z + " frames=" + t);
  } else {
    run("Duplicate...", "title=phasesr-in duplicate range=" + i + "-" + i);
  }
  input = folder + stamp + i + ".tif";
  saveAs("Tiff", input);
  close();
  request = server + "/api/v1/sr?format=text&wait=0&scale=" + scale + "&path=" + call("java.net.URLEncoder.encode", input, "UTF-8");
  if (model != "") request = request + "&model=" + call("java.net.URLEncoder.encode", model, "UTF-8");
  answer = String.trim(File.openUrlAsString(request));
  // A server older than wait=0 answers the result's URL itself.
  if (startsWith(answer, "job ")) answer = awaitJob(substring(answer, 4), i, planes, scale);
  deleted = File.delete(input);
  lines = split(answer, "\n");
  answer = String.trim(lines[0]);
  if (!startsWith(answer, "http")) {
    cleanUp(results, i - 1);
    failAnswer(answer, title, server);
  }
  for (k = 1; k < lines.length; k++) {
    if (startsWith(lines[k], "warning: ")) print("PhaseSR Super Resolve: " + title + ": " + lines[k]);
  }
  open(answer);
  results[i - 1] = getImageID();
}
showProgress(1);

if (planes == 1) {
  selectImage(results[0]);
} else {
  for (i = 0; i < planes; i++) {
    selectImage(results[i]);
    rename("phasesr-out-" + IJ.pad(i + 1, 6));
  }
  run("Images to Stack", "name=phasesr-stack title=phasesr-out-");
  if (hyper) Stack.setDimensions(channels, slices, frames);
}
rename(base + "-SRx" + scale);
// The server knows only µm; the original's calibration (any unit) divided by the scale is the truth here.
if (unit == "pixel" || unit == "pixels" || unit == "") {
  run("Set Scale...", "distance=0 known=0 unit=pixel");
} else {
  setVoxelSize(pw / s, ph / s, pd, unit);
}
if (planes > 1) setSlice(minOf(currentSlice, nSlices));
resetMinAndMax();
if (!wasBatch) setBatchMode(false);
showStatus("PhaseSR: " + getTitle() + " (" + getWidth() + "x" + getHeight() + ")");

// Polls the job's status URL until the result is ready, showing the server's progress (tiles done of all)
// on ImageJ's status line and progress bar. Answers "URL\nwarning: ..." or the line that ended the wait.
function awaitJob(statusUrl, plane, planes, scale) {
  if (indexOf(statusUrl, "?") >= 0) statusUrl = statusUrl + "&format=text";
  else statusUrl = statusUrl + "?format=text";
  last = "";
  while (true) {
    reply = String.trim(File.openUrlAsString(statusUrl));
    first = reply;
    nl = indexOf(reply, "\n");
    if (nl >= 0) first = substring(reply, 0, nl);
    if (startsWith(first, "done ")) return substring(reply, 5);
    if (startsWith(first, "running ")) {
      parts = split(first, " ");
      done = parseInt(parts[1]);
      total = parseInt(parts[2]);
      if (total > 0) {
        showProgress((plane - 1 + done / total) / planes);
        where = "";
        if (planes > 1) where = " plane " + plane + "/" + planes + ",";
        showStatus("PhaseSR: " + scale + "x" + where + " " + done + "/" + total + " tiles (" + round(100 * done / total) + "%)");
      }
    } else if (first == "queued") {
      showStatus("PhaseSR: waiting for the server (other jobs first)");
    } else {
      return reply;
    }
    // Without an ImageJ window (-batch) the status line is not seen: the log gets each new state.
    if (noGui && first != last) print("PhaseSR Super Resolve: " + first);
    last = first;
    wait(250);
  }
}

// The server's private exchange folder: the first line of GET /api/v1/folders?format=text. A server older
// than the exchange folder answers JSON there, and allows the OS temp folder instead.
function exchangeFolder(server, title) {
  answer = String.trim(File.openUrlAsString(server + "/api/v1/folders?format=text"));
  if (startsWith(answer, "{")) return getDirectory("temp");
  // A folder starts with / (or a drive, C:\); anything else is an error or not a phasesr server.
  if (!startsWith(answer, "/") && indexOf(answer, ":\\") != 1) failAnswer(answer, title, server);
  lines = split(answer, "\n");
  return String.trim(lines[0]);
}

// Stops with the message for an answer that is not a result URL.
function failAnswer(answer, title, server) {
  if (startsWith(answer, "<Error:")) {
    if (indexOf(answer, "ConnectException") >= 0 || indexOf(answer, "UnknownHost") >= 0 || indexOf(answer, "NoRouteToHost") >= 0)
      fail("The phasesr server is not running at " + server + ".\n" + START_HINT + portHint(server) + "\n(" + answer + ")");
    fail("Could not reach the phasesr server at " + server + ": " + answer);
  }
  if (startsWith(answer, "error:")) fail("The phasesr server refused " + title + ":\n" + substring(answer, 7));
  fail("Unexpected answer from " + server + " (is it a phasesr server?):\n" + answer);
}

// Value of `key` in an ImageJ option string ("key=value key2=[value with spaces]").
function optionValue(options, key, def) {
  return call("ij.Macro.getValue", options, key, def);
}

function portHint(url) {
  m = url;
  i = indexOf(m, "://");
  if (i >= 0) m = substring(m, i + 3);
  j = indexOf(m, "/");
  if (j >= 0) m = substring(m, 0, j);
  k = lastIndexOf(m, ":");
  if (k < 0) return "";
  port = substring(m, k + 1);
  if (port == "8080") return "";
  return " --port " + port;
}

function cleanUp(ids, n) {
  for (k = 0; k < n; k++) {
    selectImage(ids[k]);
    close();
  }
  if (!wasBatch) setBatchMode(false);
  selectImage(original);
}

// An ImageJ message, or a log line (stdout in -batch mode) where no window can show one; then stop.
function fail(message) {
  if (noGui) print("PhaseSR Super Resolve: " + message);
  else showMessage("PhaseSR Super Resolve", message);
  exit;
}
