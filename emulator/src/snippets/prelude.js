// The cloudmine-emulator's snippet prelude: runs one CloudMine JavaScript
// snippet in this node process. Rust sends {marker, name, source, data} on
// stdin; the answer goes back on stdout as one line starting with the
// per-run marker, which the snippet never sees (it cannot forge it).
'use strict';
(function () {
  var fs = require('fs');
  var vm = require('vm');
  var input = JSON.parse(fs.readFileSync(0, 'utf8'));
  var marker = input.marker;
  var write = process.stdout.write.bind(process.stdout);
  var finished = false;
  function answer(kind, payload) {
    if (finished) return;
    finished = true;
    var line;
    try {
      line = JSON.stringify(payload === undefined ? null : payload);
    } catch (e) {
      kind = 'error';
      line = JSON.stringify({ message: 'exit() got a value JSON cannot hold: ' + e.message });
    }
    write('\n' + marker + ' ' + kind + ' ' + line + '\n', function () {
      process.exit(0);
    });
  }
  function failed(e) {
    var message = e && e.message !== undefined ? String(e.message) : String(e);
    var file = input.name + '.js:';
    var where = String((e && e.stack) || '').split('\n').filter(function (l) {
      return l.indexOf(file) !== -1;
    }).map(function (l) { return l.trim(); });
    answer('error', { message: message, stack: where });
  }
  process.on('uncaughtException', failed);
  process.on('unhandledRejection', failed);
  process.on('exit', function () {
    if (!finished) {
      finished = true;
      fs.writeSync(1, '\n' + marker + ' noexit null\n');
    }
  });
  var wrapper = '(function (data, exit, require, console) {' + input.source + '\n})';
  var data = input.data;
  input = { name: input.name };
  try {
    var run = vm.runInThisContext(wrapper, { filename: input.name + '.js' });
    run(data, function exit(value) { answer('ok', value); }, require, console);
  } catch (e) {
    failed(e);
  }
})();
