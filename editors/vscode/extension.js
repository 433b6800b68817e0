// The genolang extension: starts `geno lsp` (LSP over stdio) for .geno files.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("geno").get("serverCommand", ["geno", "lsp"]);
  const server = { command, args, options: { env: { ...process.env, OMP_NUM_THREADS: "1" } } };
  client = new LanguageClient("geno", "genolang", { run: server, debug: server }, {
    documentSelector: [{ scheme: "file", language: "geno" }],
    // a used spec changed on disk (geno fmt, a checkout): the server re-checks the open files using it
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.geno") },
  });
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
